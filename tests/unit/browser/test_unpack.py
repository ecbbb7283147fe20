"""bento_wasm/browser/unpack.py against Pyodide's own loader (pyodide-py's
``pyodide._package_loader``, run here by CPython): the same files, the same dist-info records,
the same dynlib list, and nothing written outside the target folder.

bento_wasm.browser refuses to import outside Pyodide; unpack.py needs only the standard
library and ``pyodide._package_loader``, so the tests load that one file by path. The browser
side (worker_js/kernel/unpack.js in front of loadPackage) is tested end to end in
tests/e2e/test_startup_preload.py."""

import importlib.util
import io
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

SOURCE = ROOT / "bento_wasm" / "browser" / "unpack.py"
RUNTIME = ROOT / "runtime" / "pyodide"
loader = pytest.importorskip("pyodide._package_loader")


@pytest.fixture
def unpack():
    spec = importlib.util.spec_from_file_location("bento_unpack_under_test", SOURCE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "wheel",
    ["pytz-2024.1-py2.py3-none-any.whl", "pyarrow-18.1.0-cp312-cp312-pyodide_2024_0_wasm32.whl"],
)
def test_a_wheel_unpacks_as_pyodide_unpacks_it(unpack, wheel, tmp_path, monkeypatch):
    path = RUNTIME / wheel
    if not path.is_file():
        pytest.skip(f"{wheel} is not in the runtime (bento runtime assemble)")
    data = path.read_bytes()
    # Pyodide's should_load_dynlib knows only its own platform's tags: the host's stand in
    monkeypatch.setattr(loader, "should_load_dynlib", lambda p: str(p).endswith(".so"))
    ours = unpack.unpack_wheel(
        data, wheel, str(tmp_path / "ours"), "pyodide.loadPackage", "pyodide"
    )
    theirs_dir = tmp_path / "theirs"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(theirs_dir)
        loader.set_wheel_installer(wheel, archive, theirs_dir, "pyodide.loadPackage", "pyodide")
        theirs = loader.get_dynlibs(io.BytesIO(data), ".whl", theirs_dir)
    assert tree(tmp_path / "ours") == tree(theirs_dir)
    assert [Path(p).relative_to(tmp_path / "ours") for p in ours] == [
        Path(p).relative_to(theirs_dir) for p in theirs
    ]
    assert ("libarrow_python.so" in str(ours)) == wheel.startswith("pyarrow")


def test_a_member_outside_the_folder_is_refused_before_anything_is_written(unpack, tmp_path):
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\n")
        archive.writestr("pkg/__init__.py", "x = 1\n")
        archive.writestr("../evil.py", "boom\n")
    with pytest.raises(ValueError, match="outside"):
        unpack.unpack_wheel(blob.getvalue(), "pkg-1.0-py3-none-any.whl", str(tmp_path / "site"))
    assert not (tmp_path / "site").exists() and not (tmp_path / "evil.py").exists()


def test_what_it_does_not_handle_is_left_to_pyodide(unpack, tmp_path):
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as archive:
        archive.writestr("pkg/__init__.py", "x = 1\n")  # no .dist-info
    assert unpack.unpack_wheel(blob.getvalue(), "pkg-1.0-py3-none-any.whl", str(tmp_path)) is None
    assert unpack.unpack_wheel(b"", "openblas-0.3.26.zip", str(tmp_path)) is None
    assert list(tmp_path.iterdir()) == []


def test_each_library_is_told_once_written_for_its_compile_ahead(unpack, tmp_path, monkeypatch):
    wheel = "pyarrow-18.1.0-cp312-cp312-pyodide_2024_0_wasm32.whl"
    if not (RUNTIME / wheel).is_file():
        pytest.skip(f"{wheel} is not in the runtime (bento runtime assemble)")
    monkeypatch.setattr(loader, "should_load_dynlib", lambda p: str(p).endswith(".so"))
    told = []

    def on_dynlib(path):
        told.append((path, Path(path).stat().st_size))  # written in full when told

    paths = unpack.unpack_wheel(
        (RUNTIME / wheel).read_bytes(), wheel, str(tmp_path), on_dynlib=on_dynlib
    )
    with zipfile.ZipFile(RUNTIME / wheel) as archive:
        sizes = {str(tmp_path / i.filename): i.file_size for i in archive.infolist()}
    assert [path for path, _ in told] == paths and len(paths) > 10
    assert all(size == sizes[path] for path, size in told)
