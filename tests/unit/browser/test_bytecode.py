"""The bytecode bundles of bento_wasm/browser/bytecode.py, run by this CPython's own import
machinery: a bundled pyc is used while its source is unchanged and ignored once it changes.

bento_wasm.browser refuses to import outside Pyodide; bytecode.py needs only the standard
library, so the tests load that one file by path. The browser side (Cache API, a second visit)
is tested in tests/e2e/test_bytecode_cache.py."""

import importlib.util
import json
import marshal
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

SOURCE = ROOT / "bento_wasm" / "browser" / "bytecode.py"
TAG = sys.implementation.cache_tag


@pytest.fixture
def bytecode():
    spec = importlib.util.spec_from_file_location("bento_bytecode_under_test", SOURCE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(code: str, site: Path, prefix: Path) -> str:
    """``code`` in a child Python that finds packages in ``site``, with bytecode under ``prefix``
    (as the worker has it after ``enable()``)."""
    setup = (
        f"import sys; sys.path[:0] = [{str(SOURCE.parent)!r}, {str(site)!r}]; "
        f"import bytecode; bytecode.enable({str(prefix)!r}); "
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
    files = bytecode.unbundle(data, str(prefix))
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
    for path, pyc in bytecode.unbundle(data, str(prefix)):
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
        bytecode.unbundle(b"x", str(prefix))
    with pytest.raises(ValueError, match="not JSON"):
        bytecode.unbundle((3).to_bytes(8, "little") + b"{{{", str(prefix))
    outside = json.dumps([["/etc/passwd", 1]]).encode()
    with pytest.raises(ValueError, match="outside"):
        bytecode.unbundle(len(outside).to_bytes(8, "little") + outside + b"x", str(prefix))
    escape = json.dumps([[f"{prefix}/../x", 1]]).encode()
    with pytest.raises(ValueError, match="outside"):
        bytecode.unbundle(len(escape).to_bytes(8, "little") + escape + b"x", str(prefix))
    short = json.dumps([[f"{prefix}/a.pyc", 5]]).encode()
    with pytest.raises(ValueError, match="index covers"):
        bytecode.unbundle(len(short).to_bytes(8, "little") + short + b"abc", str(prefix))
    assert bytecode.imported(["sys", "os"]) and not bytecode.imported(["no_such_module_x"])
    assert not bytecode.imported([])


def test_javascript_writes_into_the_tree_python_reads(bytecode):
    """worker_js/kernel/bytecode.js writes the bundles (and turns writing on for bento_wasm's
    own bytecode) under its PYCACHE_PREFIX: the same tree as PREFIX here."""
    script = (ROOT / "worker_js" / "kernel" / "bytecode.js").read_text("utf-8")
    assert f'export const PYCACHE_PREFIX = "{bytecode.PREFIX}";' in script
