#!/usr/bin/env bash
# Debian's Chromium for tests/test_browser.py (playwright drives it; playwright itself comes from requirements.txt).
set -euo pipefail
if command -v chromium >/dev/null; then echo "chromium: $(command -v chromium)"; exit 0; fi
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }
echo "chromium: $(command -v chromium)"
