"""The worker's system time zone database: pytz's zone files, where Linux keeps them.

Pyodide has no ``/usr/share/zoneinfo``. pandas calls ``dateutil.tz.gettz("UTC")`` as it is
imported, and dateutil, finding no system file, falls back to the tarball it bundles and reads
every one of its ~350 zones (tar headers, gzip and a parse each): about 0.2 s of every
``import pandas`` in wasm. pytz, which pandas depends on in Pyodide's lock, ships the same IANA
zone files; its folder linked as ``/usr/share/zoneinfo`` lets dateutil read the one file it
needs, as on Linux (and the standard library's ``zoneinfo``, whose search path starts there,
finds zones without the ``tzdata`` package). The link is made when the kernel starts; until
pytz is loaded it leads nowhere, and both fall back as before. A ``/usr/share/zoneinfo`` that
exists is left alone.
"""

from __future__ import annotations

import os
import sys

__all__ = ["SYSTEM", "install"]

SYSTEM = "/usr/share/zoneinfo"


def install(site: str | None = None) -> bool:
    """Link pytz's zone folder in ``site`` (the site-packages Pyodide installs into) as the
    system's; False if there is one already or the link cannot be made."""
    if os.path.lexists(SYSTEM):
        return False
    site = site or next((p for p in sys.path if p.endswith("site-packages")), None)
    if site is None:
        return False
    try:
        os.makedirs(os.path.dirname(SYSTEM), exist_ok=True)
        os.symlink(os.path.join(site, "pytz", "zoneinfo"), SYSTEM)
    except OSError:
        return False
    return True
