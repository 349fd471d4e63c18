"""models/ stands apart (DESIGN §2): no gateway header, no gateway library.

csg-model validates its input against its own model file (models/input.c); it
must not drift back to calling the gateway's parser.
"""

from __future__ import annotations

import re
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"
OWN = {p.name for p in MODELS.glob("*.h")}


def test_models_include_only_their_own_headers() -> None:
    bad = []
    for src in sorted([*MODELS.glob("*.c"), *MODELS.glob("*.h")]):
        for n, line in enumerate(src.read_text().splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m and m.group(1) not in OWN:
                bad.append(f"{src.name}:{n}: {line.strip()}")
    assert not bad, "models/ includes a header that is not its own:\n" + "\n".join(bad)


def test_models_link_no_gateway_library() -> None:
    text = (MODELS / "CMakeLists.txt").read_text()
    assert "CSG_PUBLIC_INCLUDE" not in text and "core/" not in text
    libs = re.findall(r"target_link_libraries\(([^)]*)\)", text)
    used = {w for group in libs for w in group.split()}
    gateway = {
        w for w in used if w.startswith(("csg_", "csgp")) and w != "csg_modellib"
    }
    assert not gateway, f"models/ links gateway libraries: {sorted(gateway)}"
