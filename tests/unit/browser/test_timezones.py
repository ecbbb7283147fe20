"""bento_wasm/browser/timezones.py in real Pyodide (run by Node.js, with pandas' packages from
the assembled runtime): pandas' import used to make dateutil read its whole bundled tarball
(~350 zones) for "UTC"; with pytz's zone files linked where Linux keeps them, dateutil reads
one file, gives the same offsets, and the standard library's zoneinfo finds zones too."""

import json
import shutil

import pytest

from tests.helpers import RUNTIME, run_in_node_pyodide

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (RUNTIME / "pyodide.mjs").is_file(),
    reason="Node.js or the assembled runtime is missing (./dev setup)",
)

# Counts how many times dateutil builds its bundled database (every zone of the tarball).
SPY = """
import dateutil.zoneinfo
tarball = []
_build = dateutil.zoneinfo.ZoneInfoFile.__init__
def _spy(self, *args, **kwargs):
    tarball.append(1)
    return _build(self, *args, **kwargs)
dateutil.zoneinfo.ZoneInfoFile.__init__ = _spy
"""

CASES = (
    SPY
    + """
import json
from datetime import datetime
import dateutil.tz
from bento_wasm.browser import timezones

out = {"installed": timezones.install(), "again": timezones.install()}  # the second: one exists
import pandas
out["tarball_read_by_pandas"] = len(tarball)
utc = dateutil.tz.gettz("UTC")
paris = dateutil.tz.gettz("Europe/Paris")
bundled = dateutil.zoneinfo.get_zonefile_instance().get("Europe/Paris")
out["utc"] = getattr(utc, "_filename", None)
moments = [datetime(2024, 1, 15, 12), datetime(2024, 7, 1, 12), datetime(1980, 6, 1)]
out["same_offsets"] = all(paris.utcoffset(t) == bundled.utcoffset(t) for t in moments)
stamp = pandas.Timestamp("2024-07-01 12:00", tz="Europe/Paris")
out["pandas"] = str(stamp.tz_convert("UTC"))
import zoneinfo
out["zoneinfo"] = str(datetime(2024, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("America/New_York")))
json.dumps(out)
"""
)


def test_pandas_reads_one_zone_file_with_the_same_offsets(tmp_path):
    out = json.loads(run_in_node_pyodide(CASES, tmp_path, packages=("pandas",)))
    assert out["installed"] is True and out["again"] is False, out
    assert out["tarball_read_by_pandas"] == 0, out
    assert out["utc"] == "/usr/share/zoneinfo/UTC", out
    assert out["same_offsets"] is True, out
    assert out["pandas"] == "2024-07-01 10:00:00+00:00", out
    assert out["zoneinfo"] == "2024-07-01 12:00:00-04:00", out


def test_without_the_link_pandas_read_the_whole_tarball(tmp_path):
    code = SPY + "import pandas\nlen(tarball)"
    assert run_in_node_pyodide(code, tmp_path, packages=("pandas",)) == "1"
