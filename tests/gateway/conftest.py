"""pytest setup for tests/gateway: import the helpers beside the tests, and start each
run with an empty var/test/gateway (the last run's logs and configs stay for debugging)."""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gwlib import VAR

shutil.rmtree(VAR, ignore_errors=True)
VAR.mkdir(parents=True, exist_ok=True)
