"""pytest setup for tests/hostile: reuse the gateway test helpers (tests/gateway/gwlib.py)
with this suite's own var/test/hostile directory (hostile-asan for the ASan build, which
runs beside the other suites: see gwlib.VAR)."""

import shutil

from gateway import gwlib
from harness import UNDER_SANITIZER

gwlib.VAR = gwlib.VAR.parent / ("hostile-asan" if UNDER_SANITIZER else "hostile")
shutil.rmtree(gwlib.VAR, ignore_errors=True)
gwlib.VAR.mkdir(parents=True, exist_ok=True)
