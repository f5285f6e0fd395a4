#!/bin/sh
# Headless Chromium for the dashboard's browser tests: installs Debian's
# chromium package when it is missing (needs root; apt-get update only if
# the package lists do not know it yet), then prints the browser's path.
# Usage: scripts/chromium-dev.sh
set -eu
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "chromium is not installed and this is not root: install it with 'sudo apt-get install chromium'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  exec 9>/tmp/burst-chromium-install.lock
  flock 9
  if ! command -v chromium >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends chromium </dev/null >/tmp/burst-chromium-apt.log 2>&1 ||
      { apt-get update -qq </dev/null >>/tmp/burst-chromium-apt.log 2>&1 &&
        apt-get install -y -qq --no-install-recommends chromium </dev/null >>/tmp/burst-chromium-apt.log 2>&1; } ||
      { echo "apt-get install chromium failed: see /tmp/burst-chromium-apt.log" >&2; exit 1; }
  fi
fi
command -v chromium
