#!/usr/bin/env bash
# Tools the tests need, installed when missing (sourced by scripts/test).

# Chromium and its WebDriver for the browser tests of the web UI (tests/api/ui.rs): installs
# Debian's `chromium` and `chromium-driver` when either is missing and the script runs as root.
# Returns non-zero when they are still missing.
justiam_chromium_setup() {
  if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium/chromedriver missing and cannot be installed here (needs root and apt-get)" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q chromium chromium-driver >/dev/null; then
    apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null || return 1
  fi
  [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1
}
