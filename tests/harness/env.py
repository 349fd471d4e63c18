"""Where things are, from the environment tests/run exports (defaults for a bare pytest)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("CSG_ROOT") or Path(__file__).resolve().parents[2])
BUILD = Path(os.environ.get("CSG_BUILD_DIR") or ROOT / "build")
TEST_VAR = Path(os.environ.get("CSG_TEST_VAR") or ROOT / "var" / "test")
UNDER_SANITIZER = os.environ.get("CSG_UNDER_SANITIZER", "") not in ("", "0")
# Deadlines scale when the binaries run under ASan+UBSan (several times slower).
SLOW = 4.0 if UNDER_SANITIZER else 1.0
