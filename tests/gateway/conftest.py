"""pytest setup for tests/gateway: import the helpers beside the tests, and start each
run with an empty var/test/gateway (the last run's logs and configs stay for debugging)."""

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gwlib import VAR, free_port, start_model

shutil.rmtree(VAR, ignore_errors=True)
VAR.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def champion() -> Iterator[int]:
    """csg-model serving the champion on a free port, for the module's tests."""
    port = free_port()
    m = start_model("champion", port)
    yield port
    m.stop()
