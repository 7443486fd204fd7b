#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test when it is missing.
# playwright-core drives it; no browser download of playwright's own (no internet for that).
# Needs root (CI and the dev machines run as root); elsewhere it says what to do and exits 0,
# and the browser test then skips with that reason.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium missing and not root: run 'sudo apt-get install -y chromium' for the dashboard browser test" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
