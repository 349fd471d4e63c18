"""pytest setup for tests/gateway: start each run with an empty gwlib.VAR (var/test/gateway,
or gateway-asan for the ASan build; the last run's logs and configs stay for debugging)."""

import shutil
from collections.abc import Iterator

import pytest
from gwlib import VAR, start_model
from harness import free_port

shutil.rmtree(VAR, ignore_errors=True)
VAR.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def models() -> Iterator[tuple[int, int]]:
    """The champion and challenger csg-model services (ports) of one test module."""
    cp, hp = free_port(), free_port()
    c = start_model("champion", cp)
    h = start_model("challenger", hp)
    yield cp, hp
    c.stop()
    h.stop()


@pytest.fixture(scope="module")
def champion() -> Iterator[int]:
    """csg-model serving the champion on a free port, for the module's tests."""
    port = free_port()
    m = start_model("champion", port)
    yield port
    m.stop()
