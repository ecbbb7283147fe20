"""End to end: ``%pip install`` in the bento page's serverless kernel, through the server's index.

A pure wheel the runtime lacks (tabulate) comes from PyPI through the bento server's package
index (``pip download`` on the first request); a package of the runtime (numpy) loads from the
runtime, offline; a package with compiled code and no WebAssembly build (psutil) fails with a
clear error, and the kernel's namespace survives it. A cell's own ``micropip.install`` finds the
same index. The browser has no network but loopback (tests/helpers.py's Chromium flags): every wheel
came through the server.
"""

import pytest

from tests.helpers import BentoServer, NotebookPage, PageKernel, chromium, notebook

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    cache = tmp_path_factory.mktemp("pypi-cache")
    server = BentoServer(f"--BentoApp.package_cache={cache}")
    with server, chromium() as driver:
        page = PageKernel(driver, server)
        page.cache = cache
        started = page.start(preload=[])
        assert started["ok"], (started, server.tail())
        yield page


def stdout(outputs):
    return "".join(o["text"] for o in outputs if o["type"] == "stream" and o["name"] == "stdout")


def test_pip_install_a_pure_wheel_from_the_servers_index(kernel):
    kept = kernel.run_ok("kept = 41 + 1")
    assert kept == []
    outputs = kernel.run_ok("%pip install tabulate")
    text = stdout(outputs)
    assert "Successfully installed tabulate-" in text, outputs
    assert "no restart is needed" in text, text
    table = kernel.text(
        "import tabulate\nprint(tabulate.tabulate([[1, 'a'], [2, 'b']], headers=['n', 's']))"
    )
    assert table.splitlines()[:2] == ["  n  s", "---  ---"], table


def test_pip_install_a_runtime_package_loads_it_from_the_runtime(kernel):
    outputs = kernel.run_ok("%pip install numpy")
    text = stdout(outputs)
    assert "Successfully installed" in text and "numpy-2.0.2" in text, text
    assert kernel.text("import numpy\nnumpy.__version__") == "'2.0.2'"
    again = stdout(kernel.run_ok("%pip install numpy"))
    assert again.startswith("Requirement already satisfied: numpy (2.0.2)"), again


def test_compiled_package_is_refused_clearly_and_the_kernel_goes_on(kernel):
    kernel.run_ok("survivor = 'still here'")
    [error] = kernel.errors("%pip install psutil")
    assert error["ename"] == "PackageUnavailable", error
    message = error["evalue"]
    assert "psutil" in message and "compiled code" in message, message
    assert "WebAssembly" in message and "%%remote" in message, message
    assert kernel.text("survivor") == "'still here'"


def test_pinned_version_quiet_list_and_uninstall(kernel):
    assert stdout(kernel.run_ok("%pip install -q humanize==4.9.0")) == ""
    assert kernel.text("import humanize\nhumanize.__version__") == "'4.9.0'"
    listed = stdout(kernel.run_ok("%pip list"))
    assert listed.splitlines()[0].split() == ["Package", "Version"], listed
    assert any(line.split() == ["humanize", "4.9.0"] for line in listed.splitlines()), listed
    removed = stdout(kernel.run_ok("%pip uninstall -y humanize"))
    # micropip may warn first (files its metadata names but the wheel lacks).
    assert removed.splitlines()[-1] == "Successfully uninstalled humanize-4.9.0", removed
    assert "humanize" not in stdout(kernel.run_ok("%pip list"))


def test_micropip_typed_in_a_cell_finds_the_servers_index(kernel):
    assert kernel.text("import micropip\nawait micropip.install('colorama')") == ""
    assert kernel.text("import colorama\ncolorama.__name__") == "'colorama'"
    assert list((kernel.cache / "colorama").glob("colorama-*-py*-none-any.whl")), (
        "not via the index"
    )


def test_a_package_the_lock_names_but_the_runtime_lacks_comes_from_the_index(kernel):
    # toolz is in Pyodide's official lock, but its file is not in this runtime folder.
    text = stdout(kernel.run_ok("%pip install toolz"))
    assert "Successfully installed toolz-" in text, text
    assert kernel.text("import toolz\ntoolz.__name__") == "'toolz'"


def test_pip_config_shows_and_sets_the_index(kernel):
    index = f"{kernel.server.url}/bento/pypi/simple"  # the page's config, made absolute
    assert stdout(kernel.run_ok("%pip config list")) == f"global.index-url='{index}'\n"
    closed = "http://127.0.0.1:9/simple"
    kernel.run_ok(f"%pip config set global.index-url {closed}")
    [error] = kernel.errors("%pip install humanize")
    assert error["ename"] == "MagicError" and closed in error["evalue"], error
    assert "did not answer" in error["evalue"] and "%pip config set" in error["evalue"], error
    kernel.run_ok(f"%pip config set global.index-url {index}")
    assert stdout(kernel.run_ok("%pip config")) == f"global.index-url='{index}'\n"


def test_dependencies_come_from_the_index_too_unless_no_deps(kernel):
    # python-slugify needs text-unidecode; neither is in the runtime: both come from the index.
    both = stdout(kernel.run_ok("%pip install python-slugify"))
    assert "Successfully installed python-slugify-" in both, both
    assert " text-unidecode-" in both, both
    assert kernel.text("from slugify import slugify\nslugify('Bento WASM!')") == "'bento-wasm'"
    kernel.run_ok("%pip uninstall -y python-slugify text-unidecode")
    alone = stdout(kernel.run_ok("%pip install --no-deps python-slugify"))
    assert "Successfully installed python-slugify-" in alone and "unidecode" not in alone, alone


def test_in_the_notebook_page_by_clicking(kernel):
    """Last in this module: it takes the browser from the bare kernel to the notebook page."""
    folder = kernel.server.root_dir / "notebooks"
    folder.mkdir(exist_ok=True)
    notebook(
        "%pip install tabulate",
        "import tabulate\nprint(tabulate.tabulate([['pip', 'ok']]))",
        "%pip install psutil",
        path=folder / "pip.ipynb",
    )
    page = NotebookPage(kernel.driver, kernel.server)
    page.open("serverless", path="notebooks/pip.ipynb")
    installed = page.run_cell(0, timeout_s=120)
    assert "Successfully installed tabulate-" in installed["text"], installed
    assert "pip  ok" in page.run_cell(1)["text"]
    refused = page.run_cell(2)
    [error] = [o for o in refused["outputs"] if o["output_type"] == "error"]
    assert error["ename"] == "PackageUnavailable" and "%%remote" in error["evalue"], error
    assert "compiled code" in refused["text"]
    page.screenshot("pip-serverless.png")
