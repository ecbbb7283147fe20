"""Which cells need IPython, decided without importing it (pure, stdlib only).

The serverless kernel runs plain cells and bento's own magics itself; IPython (seconds to
load in wasm) is loaded the first time a cell needs what only IPython does: a ``%magic`` or
``%%magic`` that bento's registry does not have, ``?``/``??`` help, IPython's other input
syntax. Shell escapes (``!cmd``, ``%%bash``, ``%system`` ...) cannot work in a browser tab:
they are refused here, before anything loads, with :class:`~bento_wasm.errors.NoShellError`.
"""

from __future__ import annotations

import re

from ..errors import MagicError, NoShellError
from .magics import _LINE_MAGIC, split_cell_magic, transform_line_magics

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .magics import MagicRegistry

__all__ = ["IPYTHON", "NATIVE", "PYTHON_BODY_MAGICS", "no_shell", "route", "scan_source"]

#: The two ways a cell runs.
NATIVE, IPYTHON = "native", "ipython"

#: Magics that run a shell or another program: nothing can run them in a browser tab.
SHELL_CELL_MAGICS = frozenset(
    {"bash", "sh", "script", "system", "!", "sx", "perl", "ruby", "python2", "python3", "pypy"}
)
SHELL_LINE_MAGICS = frozenset({"system", "sx"})
#: Package managers' magics: IPython would run them in a shell.
PACKAGE_MAGICS = frozenset({"pip", "conda", "mamba", "micromamba", "uv"})
#: IPython cell magics whose body is Python (Pyodide's import scan should read it).
PYTHON_BODY_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})

# `!cmd` and `x = !cmd` (a line that starts with `!` is never valid Python).
_SHELL_LINE = re.compile(r"^[ \t]*(?:[A-Za-z_][\w, \t]*?=[ \t]*)?!(?!=)", re.MULTILINE)
# `?name`, `name?`, `name??`, `obj.attr?`, `%magic?`.
_HELP_LINE = re.compile(
    r"^[ \t]*(?:\?{1,2}[ \t]*[%\w.]|[%\w.\[\]()'\"]+[ \t]*\?{1,2}[ \t]*$)", re.MULTILINE
)


def no_shell(what: str) -> NoShellError:
    """The error for a shell escape: why it cannot run and what runs it instead."""
    return NoShellError(
        f"{what} needs a shell, and the serverless kernel runs in your browser tab, which has "
        "none (no processes, no file system of the machine). Run it where there is one: put "
        "the cell under %%remote (it runs on the executor's kernel, e.g. %%remote then "
        "`import subprocess; print(subprocess.run(['ls'], capture_output=True, text=True)"
        ".stdout)`), or switch the page to the Server kernel, where !cmd and %%bash work as "
        "in Jupyter. For files in the browser's own file system use Python (os.listdir, open)."
    )


def no_installer(name: str) -> MagicError:
    """The error for a package manager's magic the kernel has no handler for (``%conda``,
    ``%uv``, ...; the browser worker registers ``%pip``, bento_wasm/browser/pip.py)."""
    return MagicError(
        f"%{name} is not available in the serverless kernel (it would run {name} in a shell, "
        "and the browser tab has none). In the bento page `%pip install PKG` installs from the "
        "bento server's package index (packages of the Pyodide runtime such as numpy, pandas, "
        "pyarrow, scipy, scikit-learn, matplotlib load offline); in any Pyodide kernel "
        "`import micropip; await micropip.install(URL)` installs a pure-Python wheel; for "
        "anything else run the cell with %%remote or switch the page to the Server kernel."
    )


def route(code: str, registry: MagicRegistry) -> str:
    """``NATIVE`` or ``IPYTHON`` for ``code``; raises NoShellError for a shell escape.

    Bento's own magics stay native. A cell that is valid Python once bento's line magics
    are rewritten runs natively unless it names a magic only IPython has; only a cell that
    does not parse is looked at for ``!`` and ``?`` (so neither inside a string counts).
    """
    cell = split_cell_magic(code)
    if cell is not None:
        name = cell[0]
        if name in registry.cell:
            return NATIVE
        if name in SHELL_CELL_MAGICS:
            raise no_shell(f"%%{name}")
        return IPYTHON
    if "%" in code:
        for match in _LINE_MAGIC.finditer(code):
            name = match["name"]
            if name in SHELL_LINE_MAGICS:
                raise no_shell(f"%{name}")
            if name in PACKAGE_MAGICS and name not in registry.line:
                raise no_installer(name)
            if name not in registry.line:
                return IPYTHON
    if "!" not in code and "?" not in code:
        return NATIVE
    if _parses(code):
        return NATIVE
    shell = _SHELL_LINE.search(code)
    if shell is not None:
        line = code[shell.start() :].split("\n", 1)[0].strip()
        raise no_shell(f"`{line}`")
    return IPYTHON if _HELP_LINE.search(code) else NATIVE


def _parses(code: str) -> bool:
    import ast

    try:
        ast.parse(transform_line_magics(code))
    except SyntaxError:
        return False
    return True


def scan_source(code: str) -> str:
    """What Pyodide's import scan should read for a cell IPython runs: IPython itself, the
    body of a Python-bodied cell magic, and matplotlib for ``%matplotlib``."""
    source = "import IPython\n"
    cell = split_cell_magic(code)
    if cell is not None:
        if cell[0] in PYTHON_BODY_MAGICS:
            source += transform_line_magics(cell[2])
        return source
    if re.search(r"^[ \t]*%(?:matplotlib|pylab)\b", code, re.M):
        source += "import matplotlib\n"
    lines = [line for line in transform_line_magics(code).splitlines() if not _is_syntax(line)]
    return source + "\n".join(lines)


def _is_syntax(line: str) -> bool:
    """A line of IPython syntax that the import scan (``ast``) cannot read."""
    return bool(_SHELL_LINE.match(line) or _HELP_LINE.match(line))
