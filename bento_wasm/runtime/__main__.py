"""``python -m bento_wasm.runtime assemble|verify``: see :func:`bento_wasm.runtime.main`."""

import sys

from .assembly import main

sys.exit(main())
