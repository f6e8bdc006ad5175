#!/usr/bin/env bash
# Install what the browser test (tests/test_report_browser.py) needs: Debian's Chromium
# and Playwright for Python (PyPI; it drives /usr/bin/chromium, it downloads no browser
# of its own). Usage: ci/browser-up.sh PYTHON. Idempotent; exits 3 with the reason
# where it cannot install them (not root, no apt-get, no network).
set -euo pipefail
python=${1:-python3}
if ! [ -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] || { echo "browser-up: not root: cannot install chromium" >&2; exit 3; }
  command -v apt-get >/dev/null || { echo "browser-up: no apt-get to install chromium" >&2; exit 3; }
  # (the Slurm test may be installing its packages at the same time: wait for apt's locks)
  for try in $(seq 60); do
    apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null 2>&1 && break
    sleep 5
  done
  for try in $(seq 3); do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
      chromium fonts-noto-cjk >/dev/null 2>&1 && break
    sleep 10
  done
  [ -x /usr/bin/chromium ] || { echo "browser-up: apt-get could not install chromium" >&2; exit 3; }
fi
if ! "$python" -c "import playwright.sync_api" 2>/dev/null; then
  "$python" -m pip install -q playwright >/dev/null 2>&1 \
    || { echo "browser-up: pip could not install playwright" >&2; exit 3; }
fi
echo "browser-up: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
