"""pytest setup for tests/gateway: start each run with an empty var/test/gateway (the last
run's logs and configs stay for debugging)."""

import shutil

from gwlib import VAR

shutil.rmtree(VAR, ignore_errors=True)
VAR.mkdir(parents=True, exist_ok=True)
