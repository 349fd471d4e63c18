#!/usr/bin/env bash
# csg-model (models/): parity with the Python model on every hold-out row for
# both models, HTTP validation/limits/keep-alive, --error-rate, --latency-ms,
# CLI errors; train.py --check (artifacts reproduce, scorer == scikit-learn).
# csg-sanitize
set -euo pipefail
[[ -x $CSG_BUILD_DIR/bin/csg-model ]] || { echo "missing $CSG_BUILD_DIR/bin/csg-model"; exit 1; }
exec "$PY" -m pytest -q -p no:cacheprovider tests/models
