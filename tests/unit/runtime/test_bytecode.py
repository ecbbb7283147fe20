"""The bytecode bundles of bento_wasm/runtime/bytecode.py, run by this CPython's own import
machinery: a bundled pyc is used while its source is unchanged and ignored once it changes;
and the bundles the server makes ahead from the runtime's wheels. The browser side (Cache
API, a second visit) is tested in tests/e2e/test_bytecode_cache.py."""

import importlib.util
import json
import marshal
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, RUNTIME

TAG = sys.implementation.cache_tag


@pytest.fixture
def bytecode():
    from bento_wasm.runtime import bytecode

    return bytecode


def run(code: str, site: Path, prefix: Path) -> str:
    """``code`` in a child Python that finds packages in ``site``, with bytecode under ``prefix``
    (as the worker has it after ``enable()``)."""
    setup = (
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(site)!r}]; "
        f"from bento_wasm.runtime import bytecode; bytecode.enable({str(prefix)!r}); "
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", setup + code], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def make_site(tmp_path: Path) -> tuple[Path, Path]:
    site = tmp_path / "lib" / "site-packages"
    (site / "pkg" / "sub").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("from .sub import mod\nVALUE = 'original'\n")
    (site / "pkg" / "sub" / "__init__.py").write_text("")
    (site / "pkg" / "sub" / "mod.py").write_text("X = 41 + 1\n")
    (site / "single.py").write_text("Y = 'top-level module'\n")
    (site / "other.py").write_text("Z = 'not asked for'\n")
    return site, tmp_path / "pycache"


def test_a_bundle_holds_hash_checked_pycs_of_the_named_packages_only(bytecode, tmp_path):
    site, prefix = make_site(tmp_path)
    run("import pkg, single, other", site, prefix)
    sys.path.insert(0, str(site))  # bundle() finds site-packages on sys.path
    try:
        data = bytecode.bundle(["pkg", "single"], str(prefix))
    finally:
        sys.path.remove(str(site))
    files = bytecode.unpack(data, str(prefix))
    root = f"{prefix}{site}"
    assert sorted(path for path, _ in files) == sorted(
        f"{root}/{name}.{TAG}.pyc"
        for name in ("pkg/__init__", "pkg/sub/__init__", "pkg/sub/mod", "single")
    )
    for path, pyc in files:
        assert pyc[:4] == Path(path).read_bytes()[:4]  # this Python's magic number
        assert int.from_bytes(pyc[4:8], "little") == 0b11  # hash-based, checked
        source = site / path[len(root) + 1 :].replace(f".{TAG}.pyc", ".py")
        assert pyc[8:16] == importlib.util.source_hash(source.read_bytes())


def test_restored_pycs_are_used_and_a_changed_source_wins(bytecode, tmp_path):
    site, prefix = make_site(tmp_path)
    run("import pkg, single", site, prefix)
    sys.path.insert(0, str(site))
    try:
        data = bytecode.bundle(["pkg", "single"], str(prefix))
    finally:
        sys.path.remove(str(site))
    # A new visit: an empty tree, the bundle's files written back (as bytecode.js does).
    shutil.rmtree(prefix)
    for path, pyc in bytecode.unpack(data, str(prefix)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(pyc)
    pyc = prefix / str(site).lstrip("/") / "pkg" / "sub" / f"mod.{TAG}.pyc"
    assert pyc.is_file()
    # Mark the restored pyc: its code says 'from the bundle' although the source says 42.
    marked = compile("X = 'from the bundle'\n", str(site / "pkg/sub/mod.py"), "exec")
    header = pyc.read_bytes()[:16]
    pyc.write_bytes(header + marshal.dumps(marked))
    (site / "pkg" / "sub" / "mod.py").touch()  # a new mtime, as every unpacking gives
    assert run("import pkg; print(pkg.mod.X)", site, prefix) == "from the bundle"
    (site / "pkg" / "sub" / "mod.py").write_text("X = 'edited source'\n")
    assert run("import pkg; print(pkg.mod.X)", site, prefix) == "edited source"


def test_nothing_imported_gives_an_empty_bundle_and_bad_pycs_are_refused(bytecode, tmp_path):
    site, prefix = make_site(tmp_path)
    sys.path.insert(0, str(site))
    try:
        assert bytecode.bundle(["pkg"], str(prefix)) == b""
    finally:
        sys.path.remove(str(site))
    with pytest.raises(ValueError, match="not a pyc"):
        bytecode.hash_based(b"short", b"")
    with pytest.raises(ValueError, match="shorter than its 8-byte header"):
        bytecode.unpack(b"x", str(prefix))
    with pytest.raises(ValueError, match="not JSON"):
        bytecode.unpack((3).to_bytes(8, "little") + b"{{{", str(prefix))
    outside = json.dumps([["/etc/passwd", 1]]).encode()
    with pytest.raises(ValueError, match="outside"):
        bytecode.unpack(len(outside).to_bytes(8, "little") + outside + b"x", str(prefix))
    escape = json.dumps([[f"{prefix}/../x", 1]]).encode()
    with pytest.raises(ValueError, match="outside"):
        bytecode.unpack(len(escape).to_bytes(8, "little") + escape + b"x", str(prefix))
    short = json.dumps([[f"{prefix}/a.pyc", 5]]).encode()
    with pytest.raises(ValueError, match="index covers"):
        bytecode.unpack(len(short).to_bytes(8, "little") + short + b"abc", str(prefix))
    assert bytecode.imported(["sys", "os"]) and not bytecode.imported(["no_such_module_x"])
    assert not bytecode.imported([])


def test_javascript_writes_into_the_tree_python_reads(bytecode):
    """worker_js/kernel/bytecode.js writes the bundles (and turns writing on for bento_wasm's
    own bytecode) under its PYCACHE_PREFIX: the same tree as PREFIX here."""
    script = (ROOT / "worker_js" / "kernel" / "bytecode.js").read_text("utf-8")
    assert f'export const PYCACHE_PREFIX = "{bytecode.PREFIX}";' in script


# The server's bundles (ensure), made from the runtime's own wheels and lock.
def small_runtime(tmp_path, corrupt=""):
    """A runtime folder with the real lock and three of its pure wheels."""
    folder = tmp_path / "runtime"
    folder.mkdir()
    shutil.copy(RUNTIME / "pyodide-lock.json", folder)
    lock = json.loads((RUNTIME / "pyodide-lock.json").read_text())["packages"]
    for name in ("python-dateutil", "six", "pytz"):
        wheel = lock[name]["file_name"]
        shutil.copy(RUNTIME / wheel, folder)
        if name == corrupt:
            (folder / wheel).write_bytes((folder / wheel).read_bytes() + b"\0")
    return folder, lock


def test_the_server_bundles_each_module_of_the_preloads_closure(bytecode, tmp_path):
    from bento_wasm.runtime.stdlib import PYODIDE_MAGIC

    folder, lock = small_runtime(tmp_path)
    made = bytecode.ensure(folder, ["python-dateutil"])
    assert sorted(made) == sorted(lock[n]["file_name"] for n in ("python-dateutil", "six"))
    entry = lock["python-dateutil"]
    files = dict(bytecode.unpack(bytecode.bundle_path(folder, "0.27.7", entry).read_bytes()))
    site = f"{bytecode.PREFIX}{bytecode.SITE}"
    pyc = files[f"{site}/dateutil/parser/_parser.cpython-312.pyc"]
    assert pyc[:4] == PYODIDE_MAGIC and int.from_bytes(pyc[4:8], "little") == 0b11
    with zipfile.ZipFile(folder / entry["file_name"]) as wheel:
        sources = {n for n in wheel.namelist() if n.endswith(".py")}
        source = wheel.read("dateutil/parser/_parser.py")
    assert pyc[8:16] == importlib.util.source_hash(source)  # checked against the source
    assert len(files) == len(sources) and all(p.startswith(site + "/") for p in files)
    code = marshal.loads(pyc[16:])
    assert code.co_filename == f"{bytecode.SITE}/dateutil/parser/_parser.py"
    written = bytecode.bundle_path(folder, "0.27.7", entry).stat().st_mtime_ns
    assert sorted(bytecode.ensure(folder, ["python-dateutil"])) == sorted(made)
    assert bytecode.bundle_path(folder, "0.27.7", entry).stat().st_mtime_ns == written


def test_no_bundle_for_a_wheel_unlike_the_lock_nor_from_another_python(bytecode, tmp_path):
    folder, lock = small_runtime(tmp_path, corrupt="six")
    assert bytecode.ensure(folder, ["python-dateutil"]) == [lock["python-dateutil"]["file_name"]]
    assert not bytecode.bundle_path(folder, "0.27.7", lock["six"]).exists()
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(folder / "pyodide-lock.json", other)
    assert bytecode.ensure(other, ["pytz"], magic=b"\0\0\r\n") == []
    assert sorted(p.name for p in other.iterdir()) == ["pyodide-lock.json"]
