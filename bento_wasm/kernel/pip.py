"""``%pip`` in the serverless kernel, the pure part: the command line, the index, the report.

    %pip install tabulate 'humanize>=4' -q --no-deps
    %pip list
    %pip uninstall -y tabulate
    %pip config set global.index-url https://host/bento/pypi/simple

Packages of the Pyodide runtime (its lock) load offline; others come from the bento server's
package index (``/bento/pypi/simple/``, see bento_wasm/server/packages.py) through micropip.
Where the index is: ``%pip config``, else the kernel option ``packageIndex``, else
``BENTO_PACKAGE_INDEX``, else the executor's server. The browser half (micropip, the runtime's
loader) is :mod:`bento_wasm.browser.pip`; this module does no IO.
"""

from __future__ import annotations

import re

from ..errors import MagicError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "INDEX_ENV",
    "INDEX_PATH",
    "PipCommand",
    "failed_projects",
    "index_from",
    "normalize",
    "parse",
    "project_name",
    "report_installed",
]

#: The environment variable naming the index where no bento page configures one.
INDEX_ENV = "BENTO_PACKAGE_INDEX"
#: Where a bento server serves its index (micropip appends ``/<project>/``).
INDEX_PATH = "bento/pypi/simple"
ACTIONS = ("install", "uninstall", "list", "freeze", "show", "config")
#: pip's options that change nothing here (there is one place to install into, no cache).
IGNORED = frozenset(
    {"--user", "--no-cache-dir", "--upgrade", "-U", "-y", "--yes", "--disable-pip-version-check",
     "--no-input", "--progress-bar"}
)  # fmt: skip
#: pip's options that name an index or files: the serverless kernel has one index.
REFUSED = frozenset(
    {"-r", "--requirement", "-e", "--editable", "-i", "--index-url", "--extra-index-url", "-c",
     "--constraint", "--target", "-t"}
)  # fmt: skip
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
#: The projects named in micropip's "no wheel" errors.
_MICROPIP_FAILED = re.compile(
    r"Can't (?:find a pure Python 3 wheel for|fetch metadata for)[:\s]*(?P<names>[^\n]+)"
)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_name(requirement: str) -> str:
    """The project a requirement names (``'tabulate>=0.9'`` -> ``tabulate``)."""
    match = _NAME.match(requirement)
    if match is None or "://" in requirement:
        raise MagicError(
            f"%pip: {requirement!r} is not a package name; write `%pip install name`, "
            "`name==1.2` or `name>=1.0` (a wheel by URL: `await micropip.install(URL)`)"
        )
    return normalize(match[1])


class PipCommand:
    """One ``%pip`` line, parsed (a plain class: dataclasses would cost the kernel's boot)."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.requirements: list[str] = []
        self.quiet = False
        self.deps = True
        #: ``%pip config set KEY VALUE``: (key, value); ``%pip config list``: None.
        self.setting: tuple[str, str] | None = None


def parse(line: str) -> PipCommand:
    """Parse what follows ``%pip``; raises MagicError saying what is understood."""
    import shlex

    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise MagicError(f"%pip: {exc} in {line!r}") from exc
    if not words or words[0] not in ACTIONS:
        raise MagicError(
            "%pip in the serverless kernel knows: install PKG [PKG ...] (with ==VERSION, -q, "
            "--no-deps), uninstall -y PKG, list, freeze, show PKG, and config set "
            f"global.index-url URL; got %pip {line.strip()!r}"
        )
    command = PipCommand(words[0])
    for word in words[1:]:
        _take(command, word)
    if command.action == "config":
        return _config(command)
    if command.action in {"install", "uninstall", "show"} and not command.requirements:
        raise MagicError(f"%pip {command.action} needs a package name: %pip {command.action} PKG")
    if command.action in {"install", "uninstall", "show"}:
        for requirement in command.requirements:
            project_name(requirement)
    return command


def _take(command: PipCommand, word: str) -> None:
    if word in {"-q", "--quiet", "-qq"}:
        command.quiet = True
    elif word == "--no-deps":
        command.deps = False
    elif word in REFUSED:
        raise MagicError(
            f"%pip {command.action}: {word} is not available in the serverless kernel (it "
            "installs from the bento server's package index; set another with %pip config set "
            "global.index-url URL); name the packages instead"
        )
    elif word in IGNORED or (word.startswith("-") and command.action in {"list", "freeze"}):
        return
    elif word.startswith("-"):
        raise MagicError(f"%pip {command.action}: unknown option {word}")
    else:
        command.requirements.append(word)


def _config(command: PipCommand) -> PipCommand:
    words = command.requirements
    if words[:1] == ["set"] and len(words) == 3 and words[1].endswith("index-url"):
        command.setting = (words[1], words[2])
        command.requirements = []
        return command
    if words in ([], ["list"]):
        command.requirements = []
        return command
    raise MagicError(
        "%pip config knows `set global.index-url URL` (the package index %pip and micropip "
        "install from) and `list`"
    )


def index_from(
    options: Mapping[str, Any], environ: Mapping[str, str], executor_url: str = ""
) -> str:
    """The package index URL, without a trailing slash; "" when none is configured."""
    given = str(options.get("packageIndex") or environ.get(INDEX_ENV) or "")
    if not given and executor_url:
        given = f"{executor_url.rstrip('/')}/{INDEX_PATH}"
    return given.rstrip("/")


def report_installed(
    before: Mapping[str, str], after: Mapping[str, str], requested: list[str]
) -> list[str]:
    """pip's lines for an install: what is new (or changed), what was already there."""
    changed = sorted(
        (name, version) for name, version in after.items() if before.get(name) != version
    )
    lines = []
    for requirement in requested:
        name = project_name(requirement)
        if name not in dict(changed) and name in before:
            lines.append(f"Requirement already satisfied: {requirement} ({before[name]})")
    if changed:
        lines.append("Successfully installed " + " ".join(f"{n}-{v}" for n, v in changed))
    return lines


def failed_projects(message: str) -> list[str]:
    """The projects micropip's error names as having no wheel it can install."""
    match = _MICROPIP_FAILED.search(message)
    if match is None:
        return []
    names = re.findall(r"'([^']+)'", match["names"])
    return [project_name(n) for n in names if _NAME.match(n)]
