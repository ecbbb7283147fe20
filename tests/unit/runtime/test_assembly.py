"""The runtime assembler against the real, verified Pyodide files (assembled by ./dev setup)."""

import json
import shutil
import tarfile

import pytest

from bento_wasm import runtime
from bento_wasm.errors import RuntimeAssemblyError
from tests.helpers import RUNTIME


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """An 'official release directory': the verified runtime's files, without our manifest."""
    if not (RUNTIME / runtime.MANIFEST).exists():
        pytest.fail("runtime/pyodide is not assembled; run ./dev setup")
    folder = tmp_path_factory.mktemp("official") / "pyodide"
    shutil.copytree(RUNTIME, folder, ignore=shutil.ignore_patterns(runtime.MANIFEST))
    return folder


def test_the_project_runtime_verifies():
    built = runtime.verify(RUNTIME)
    assert {"pandas", "pyarrow", "numpy", "micropip"} <= set(built.packages)
    assert set(runtime.CORE_SHA256) <= set(built.files)


def test_assemble_from_official_directory_is_idempotent(official, tmp_path):
    dest = tmp_path / "rt"
    first = runtime.assemble(dest, source=official)
    assert not first.reused and len(first.packages) == 38
    second = runtime.assemble(dest, source=official)
    assert second.reused and second.files == first.files


def test_assemble_from_release_archive(official, tmp_path):
    archive = tmp_path / "pyodide-0.27.7.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(official, arcname="pyodide")
    built = runtime.assemble(tmp_path / "rt", source=archive)
    assert "pandas" in built.packages


def test_corrupt_file_is_named(official, tmp_path):
    dest = tmp_path / "rt"
    runtime.assemble(dest, source=official)
    victim = next(dest.glob("pandas-*.whl"))
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(RuntimeAssemblyError, match=victim.name + " is corrupt") as caught:
        runtime.assemble(dest, source=official)
    assert caught.value.path == str(victim)
    # --force rebuilds it from the source.
    assert runtime.assemble(dest, source=official, force=True).packages


def test_missing_file_is_named(official, tmp_path):
    dest = tmp_path / "rt"
    runtime.assemble(dest, source=official)
    (dest / "pyodide.asm.wasm").unlink()
    with pytest.raises(RuntimeAssemblyError, match="pyodide.asm.wasm is missing"):
        runtime.verify(dest)


def test_tampered_source_is_refused(official, tmp_path):
    source = tmp_path / "tampered"
    shutil.copytree(official, source)
    wheel = next(source.glob("numpy-*.whl"))
    wheel.write_bytes(b"not the official numpy")
    with pytest.raises(RuntimeAssemblyError, match="numpy-.*does not match the official"):
        runtime.assemble(tmp_path / "rt", source=source)
    assert not (tmp_path / "rt").exists()


def test_other_lock_is_refused(official, tmp_path):
    source = tmp_path / "other"
    shutil.copytree(official, source)
    lock = json.loads((source / "pyodide-lock.json").read_text())
    lock["info"]["version"] = "0.26.0"
    (source / "pyodide-lock.json").write_text(json.dumps(lock))
    with pytest.raises(RuntimeAssemblyError, match="pyodide-lock.json"):
        runtime.assemble(tmp_path / "rt", source=source)


def test_not_a_release_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    with pytest.raises(RuntimeAssemblyError, match="neither a directory nor"):
        runtime.assemble(tmp_path / "rt", source=junk)


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    assert runtime.main(["verify", "--dest", str(tmp_path / "none")]) == 1
    assert "was never assembled" in capsys.readouterr().err


def test_extra_wheels_are_assembled_and_verified(official, tmp_path):
    """ipywidgets and comm (runtime_wheels.json) come from PyPI, pinned by sha256."""
    dest = tmp_path / "rt"
    built = runtime.assemble(dest, source=official)
    extra = runtime.extra_wheels()
    assert {"ipywidgets-8.1.9-py3-none-any.whl", "comm-0.2.3-py3-none-any.whl"} == set(extra)
    for name, item in extra.items():
        assert built.files[name] == item.sha256 == runtime.sha256_of(dest / name)
    (dest / "comm-0.2.3-py3-none-any.whl").write_bytes(b"not the wheel")
    with pytest.raises(RuntimeAssemblyError, match="comm-0.2.3-py3-none-any.whl is corrupt"):
        runtime.verify(dest)


def test_a_runtime_assembled_before_the_extra_wheels_gets_them(official, tmp_path):
    dest = tmp_path / "rt"
    runtime.assemble(dest, source=official)
    manifest = json.loads((dest / runtime.MANIFEST).read_text())
    for name in runtime.extra_wheels():
        (dest / name).unlink()
        del manifest["files"][name]
    (dest / runtime.MANIFEST).write_text(json.dumps(manifest))
    assert not set(runtime.extra_wheels()) & set(runtime.verify(dest).files)
    again = runtime.assemble(dest, source=official)
    assert again.reused and set(runtime.extra_wheels()) <= set(again.files)
    runtime.verify(dest)
