"""models/ stands apart (DESIGN §2): no gateway library.

csg-model validates its input against its own model file (models/input.c); it
must not drift back to calling the gateway's parser. Which headers models/ may
include (its own and lib/'s) is checked for every directory at once by
scripts/check-boundaries (suite 10-unit).
"""

from __future__ import annotations

import re
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_models_link_no_gateway_library() -> None:
    text = (MODELS / "CMakeLists.txt").read_text()
    assert "CSG_PUBLIC_INCLUDE" not in text and "core/" not in text
    libs = re.findall(r"target_link_libraries\(([^)]*)\)", text)
    used = {w for group in libs for w in group.split()}
    gateway = {
        w for w in used if w.startswith(("csg_", "csgp")) and w != "csg_modellib"
    }
    assert not gateway, f"models/ links gateway libraries: {sorted(gateway)}"
