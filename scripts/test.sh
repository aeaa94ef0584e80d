#!/usr/bin/env bash
# Quickstart, tests: set up (with test tools and Chromium), lint, type-check, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/lint.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
