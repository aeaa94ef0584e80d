#!/usr/bin/env bash
# Quickstart, main job: set up, run the whole pipeline offline on the standard library, open the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/wavecurate demo --workspace "${WORKSPACE:-demo}" "$@"
