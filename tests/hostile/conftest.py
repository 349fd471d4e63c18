"""pytest setup for tests/hostile: reuse the gateway test helpers (tests/gateway/gwlib.py)
with this suite's own var/test/hostile directory."""

import shutil

from gateway import gwlib

gwlib.VAR = gwlib.VAR.parent / "hostile"
shutil.rmtree(gwlib.VAR, ignore_errors=True)
gwlib.VAR.mkdir(parents=True, exist_ok=True)
