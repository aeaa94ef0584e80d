#!/usr/bin/env bash
# Create .venv and install wavecurate with everything it needs; safe to run again.
#   scripts/setup.sh          the app and pipeline
#   scripts/setup.sh test     plus the test and lint tools, and Debian's Chromium for browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "test" ] && extras="[test]"

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv

# Reinstall only when the project's requirements changed.
stamp=".venv/.wavecurate-installed-$(cat pyproject.toml | sha256sum | cut -c1-16)${extras:+-test}"
if [ ! -e "$stamp" ]; then
    # torch first, pinned: a CPU build of 2.13.0 lies on this machine's disk, and with it present
    # sentence-transformers' own torch requirement installs nothing more (no multi-GB CUDA build).
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
    touch "$stamp"
fi

if [ -n "$extras" ] && [ ! -x /usr/bin/chromium ]; then
    # Browser tests drive Debian's Chromium (Playwright's own browser download is impossible here).
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    fi
fi
