"""``python -m bento_wasm.server``: start Jupyter Server with the bento extension."""

from .app import BentoApp

if __name__ == "__main__":
    BentoApp.launch_instance()  # type: ignore[no-untyped-call]
