"""``%pip`` in the serverless kernel: micropip over the bento server's package index.

The command line, the index's URL and pip's report are the pure part
(:mod:`bento_wasm.kernel.pip`). Here: the runtime's packages load through Pyodide's loader
(its lock, offline); everything else goes to ``micropip.install(..., index_urls=[index])``,
after the index was asked for each named project (``?want=``), so a package with compiled
code fails with the index's reason (:class:`~bento_wasm.errors.PackageUnavailable`) before
micropip starts. A cell that uses micropip itself finds the same index (``set_index_urls``).
A headless run (``bento run``, no network) installs only the runtime's packages.
"""

from __future__ import annotations

import os
from typing import Any

from ..environment import current
from ..errors import BentoError, MagicError, NetworkError, PackageUnavailable
from ..kernel import pip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..kernel.interpreter import Kernel
    from ..kernel.magics import MagicContext

__all__ = ["Installer", "install"]

RESTART_NOTE = "Note: no restart is needed; the installed packages can be imported now."


class Installer:
    """One kernel's ``%pip``: its options, the index it installs from, the runtime's lock."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.offline = bool(options.get("run"))  # a headless run: no network at all
        self.index_override = ""
        self._lock: dict[str, Any] | None = None
        self._micropip_index = ""

    # -- where packages come from ------------------------------------------------------

    def index(self) -> str:
        """The index URL (absolute), or "" when this kernel has none."""
        if self.offline:
            return ""
        executor = _executor_url() or str((self.options.get("executor") or {}).get("url") or "")
        given = self.index_override or pip.index_from(self.options, os.environ, executor)
        if not given:
            return ""
        from urllib.parse import urljoin

        from js import location  # type: ignore[import-not-found]

        return urljoin(str(location.href), given)

    def lock(self) -> dict[str, Any]:
        """The runtime's packages (pyodide-lock.json), by normalized name."""
        if self._lock is None:
            import pyodide_js  # type: ignore[import-not-found]

            packages = pyodide_js._api.repodata_packages.to_py()
            self._lock = {pip.normalize(name): info for name, info in packages.items()}
        return self._lock

    async def micropip(self) -> Any:
        """micropip, loaded from the runtime, pointed at the index."""
        await current().load_packages(["micropip"])
        import micropip  # type: ignore[import-not-found,unused-ignore]

        self.point_micropip(micropip)
        return micropip

    def point_micropip(self, micropip: Any) -> None:
        index = self.index()
        if index and index != self._micropip_index:
            micropip.set_index_urls([index])
            self._micropip_index = index

    # -- the magic ---------------------------------------------------------------------

    async def magic(self, ctx: MagicContext, line: str) -> None:
        command = pip.parse(line)
        if command.action == "config":
            self.configure(command)
        elif command.action == "install":
            await self.install(command)
        elif command.action in {"list", "freeze"}:
            listed = await self.installed()
            if command.action == "freeze":
                print("\n".join(f"{name}=={version}" for name, version in sorted(listed.items())))
            else:
                _print_table(listed)
        elif command.action == "show":
            await self.show(command.requirements)
        else:
            await self.uninstall(command.requirements)

    def configure(self, command: pip.PipCommand) -> None:
        if command.setting is not None:
            self.index_override = command.setting[1]
        print(f"global.index-url='{self.index() or '(none)'}'")

    async def installed(self) -> dict[str, str]:
        micropip = await self.micropip()
        return {pip.normalize(name): str(p.version) for name, p in micropip.list().items()}

    async def install(self, command: pip.PipCommand) -> None:
        names = [pip.project_name(r) for r in command.requirements]
        index = self.index()
        if not index:
            self._only_runtime(command.requirements, names)
        before = await self.installed()
        if not index:
            await self._install_from_runtime(names)
        else:
            for requirement, name in zip(command.requirements, names, strict=True):
                await self._ask_index(index, requirement, name)
            await self._micropip_install(command, index)
        after = await self.installed()
        if not command.quiet:
            lines = pip.report_installed(before, after, command.requirements)
            print("\n".join([*lines, RESTART_NOTE]))

    def _only_runtime(self, requirements: list[str], names: list[str]) -> None:
        """No index (a headless run, a page with no server): the runtime's packages only."""
        lock = self.lock()
        for requirement, name in zip(requirements, names, strict=True):
            if name not in lock:
                raise PackageUnavailable(_offline_message(requirement, self.offline),
                                         project=name, reason="offline")  # fmt: skip

    async def _install_from_runtime(self, names: list[str]) -> None:
        lock = self.lock()
        await current().load_packages(names)
        import importlib

        for name in names:
            for module in lock[name].get("imports") or []:
                importlib.invalidate_caches()
                if importlib.util.find_spec(module) is None:
                    raise PackageUnavailable(
                        f"{name} is listed in the Pyodide runtime's lock but its file is not in "
                        "this runtime folder, so it could not be loaded; reassemble the runtime "
                        "(`bento runtime assemble`) or run the cell with %%remote",
                        project=name,
                        reason="not_found",
                    )

    async def _ask_index(self, index: str, requirement: str, name: str) -> None:
        """Ask the index to have a wheel satisfying ``requirement``; raise its reason if not.

        A project of the runtime is answered 404 (``in_runtime``): micropip takes it from
        the lock."""
        from urllib.parse import quote

        url = f"{index}/{name}/?want={quote(requirement)}"
        try:
            response = await current().fetch_async(
                url, headers={"Accept": "application/json"}, timeout_s=600.0
            )
        except NetworkError as exc:
            raise MagicError(
                f"%pip install {requirement}: the package index at {index} did not answer "
                f"({exc}); check that the bento server runs, or set the index with %pip config "
                "set global.index-url URL"
            ) from exc
        if response.ok:
            return
        try:
            error = BentoError.from_dict(_json(response.body)["error"])
        except (ValueError, KeyError, TypeError):
            raise MagicError(
                f"%pip install {requirement}: the package index at {index} answered "
                f"HTTP {response.status}: {response.text()[:300]}"
            ) from None
        if isinstance(error, PackageUnavailable) and error.reason == "in_runtime":
            return
        raise error

    async def _micropip_install(self, command: pip.PipCommand, index: str) -> None:
        micropip = await self.micropip()
        try:
            await micropip.install(command.requirements, deps=command.deps, index_urls=[index])
        except ValueError as exc:  # micropip's "no wheel" errors; ask the index why
            for name in pip.failed_projects(str(exc)):
                await self._ask_index(index, name, name)
            raise MagicError(f"%pip install: {exc}").with_traceback(None) from None

    async def uninstall(self, requirements: list[str]) -> None:
        micropip = await self.micropip()
        before = await self.installed()
        names = [pip.project_name(r) for r in requirements]
        for name in names:
            if name not in before:
                print(f"WARNING: Skipping {name} as it is not installed.")
        present = [n for n in names if n in before]
        if present:
            micropip.uninstall(present)
            print("\n".join(f"Successfully uninstalled {n}-{before[n]}" for n in present))

    async def show(self, requirements: list[str]) -> None:
        listed = await self.installed()
        for requirement in requirements:
            name = pip.project_name(requirement)
            if name in listed:
                print(f"Name: {name}\nVersion: {listed[name]}")
            else:
                print(f"WARNING: Package(s) not found: {name}")


def _offline_message(requirement: str, offline: bool) -> str:
    if offline:
        return (
            f"{requirement} is not a package of the Pyodide runtime, and a headless run (bento "
            "run) has no network to fetch it: only the runtime's packages (numpy, pandas, "
            "pyarrow, scipy, scikit-learn, matplotlib, ...) install there. Move the code that "
            "needs it to a %%remote cell, or run the notebook on a server kernel"
        )
    return (
        f"{requirement} is not a package of the Pyodide runtime, and this kernel has no "
        "package index to fetch it from: open the notebook from the bento server (its index "
        "is /bento/pypi/simple), set BENTO_PACKAGE_INDEX, or run %pip config set "
        "global.index-url URL"
    )


def _json(body: bytes) -> Any:
    import json

    return json.loads(body)


def _executor_url() -> str:
    """The executor ``%executor`` chose, if the data magics' session knows one."""
    from ..data.session import session

    given = session().options.get("executor") or {}
    return str(given.get("url") or "")


def _print_table(listed: dict[str, str]) -> None:
    width = max([len("Package"), *map(len, listed)])
    vwidth = max([len("Version"), *map(len, listed.values())])
    rows = [f"{'Package':<{width}} {'Version':<{vwidth}}", f"{'-' * width} {'-' * vwidth}"]
    rows += [f"{name:<{width}} {version}" for name, version in sorted(listed.items())]
    print("\n".join(rows))


def install(kernel: Kernel, options: dict[str, Any]) -> Installer:
    """Register ``%pip`` (awaited where it stands) and point a cell's micropip at the index."""
    installer = Installer(options)
    kernel.magics.register_line("pip", installer.magic, awaited=True)

    def point_micropip(kernel: Kernel, cell_id: str, code: str) -> None:
        """A cell that names micropip (loaded by the import scan) installs from the index."""
        import importlib.util

        if "micropip" in code and importlib.util.find_spec("micropip") is not None:
            import micropip  # type: ignore[import-not-found,unused-ignore]

            installer.point_micropip(micropip)

    kernel.pre_cell.append(point_micropip)
    return installer
