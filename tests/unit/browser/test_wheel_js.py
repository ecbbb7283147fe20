"""worker_js/kernel/wheel.js, run by Node.js (Debian's, as the headless host): it unpacks the
bento_wasm wheel to exactly the files Python's zipfile finds, and refuses an entry that would
leave site-packages."""

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, wheel_path

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (./dev setup)")

INFLATE = """
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
const { inflateWheel } = await import(process.argv[2]);
const bytes = readFileSync(process.argv[3]);
const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
try {
  const files = await inflateWheel(buffer);
  const digest = (b) => createHash("sha256").update(b).digest("hex");
  console.log(JSON.stringify(Object.fromEntries(files.map(([p, b]) => [p, digest(b)]))));
} catch (err) {
  console.log(JSON.stringify({ error: err.message }));
}
"""


def inflate(wheel: Path, tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "inflate.mjs"
    script.write_text(INFLATE)
    module = (ROOT / "worker_js" / "kernel" / "wheel.js").as_uri()
    out = subprocess.run(
        [NODE, str(script), module, str(wheel)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_the_wheel_unpacks_to_what_zipfile_reads(tmp_path):
    import hashlib

    wheel = wheel_path()
    with zipfile.ZipFile(wheel) as archive:
        expected = {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest()
            for info in archive.infolist()
            if not info.is_dir()
        }
    assert len(expected) > 50
    assert inflate(wheel, tmp_path) == expected


def test_stored_entries_unpack_and_an_escaping_path_is_refused(tmp_path):
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("pkg/__init__.py", "x = 1\n")
    (tmp_path / "good.whl").write_bytes(good.getvalue())
    assert list(inflate(tmp_path / "good.whl", tmp_path)) == ["pkg/__init__.py"]
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pkg/__init__.py", "x = 1\n")
        archive.writestr("../../etc/evil.py", "boom\n")
    (tmp_path / "bad.whl").write_bytes(bad.getvalue())
    assert "outside its folder" in inflate(tmp_path / "bad.whl", tmp_path)["error"]
