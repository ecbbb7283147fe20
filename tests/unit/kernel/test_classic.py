"""Which cells load IPython, and which are refused for want of a shell (pure, no IPython)."""

import pytest

from bento_wasm.errors import MagicError, NoShellError
from bento_wasm.kernel import classic
from bento_wasm.kernel.magics import MagicRegistry


@pytest.fixture
def registry():
    registry = MagicRegistry()
    registry.register_cell("sql", lambda ctx, args, body: None)
    registry.register_line("memory", lambda ctx, args: None)
    return registry


@pytest.mark.parametrize(
    "code",
    [
        "x = 1",
        "print('a!b?')",
        "%memory",
        "report = %memory --top 3",
        "%%sql\nselect 1",
        "x != 3",
        "s = '''\n!ls\nlen?\n'''",
        "y = 5 % 3",
        "",
    ],
)
def test_plain_cells_and_bentos_magics_stay_native(registry, code):
    assert classic.route(code, registry) == classic.NATIVE


@pytest.mark.parametrize(
    "code",
    [
        "%timeit sum(range(9))",
        "x = 1\n%who",
        "%%time\nx = 1",
        "%%capture out\nprint(1)",
        "len?",
        "?len",
        "len??",
        "str.join?",
        "%%writefile a.py\nx = 1",
        "%matplotlib inline",
        "%%nope\nbody",
    ],
)
def test_ipython_syntax_routes_to_ipython(registry, code):
    assert classic.route(code, registry) == classic.IPYTHON


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("!ls", "`!ls`"),
        ("files = !ls -la", "`files = !ls -la`"),
        ("x = 1\n  !pip list", "`!pip list`"),
        ("%%bash\nls", "%%bash"),
        ("%%sh\nls", "%%sh"),
        ("%%script bash\nls", "%%script"),
        ("%system ls", "%system"),
        ("out = %sx ls", "%sx"),
    ],
)
def test_shell_escapes_are_refused_with_what_to_do(registry, code, named):
    with pytest.raises(NoShellError) as caught:
        classic.route(code, registry)
    message = str(caught.value)
    assert named in message
    assert "browser tab" in message and "%%remote" in message and "Server kernel" in message


def test_scan_source_loads_ipython_and_reads_python_bodies():
    assert classic.scan_source("len?").startswith("import IPython\n")
    assert "import numpy" in classic.scan_source("%%time\nimport numpy\nnumpy.ones(3)")
    assert "import numpy" not in classic.scan_source("%%writefile a.py\nimport numpy")
    assert "import matplotlib" in classic.scan_source("%matplotlib inline")
    source = classic.scan_source("import pandas\npandas?\n%who")
    assert "import pandas" in source and "pandas?" not in source


@pytest.mark.parametrize("code", ["%pip install requests", "x = 1\n%conda install numpy"])
def test_package_magics_say_what_works_instead(registry, code):
    with pytest.raises(MagicError) as caught:
        classic.route(code, registry)
    message = str(caught.value)
    assert "micropip.install" in message and "%%remote" in message and "Server kernel" in message
