#!/usr/bin/env bash
# Installs Debian's Chromium for the real-browser test (tests/test_browser.py), if it is missing.
# Playwright drives this system browser; it never downloads a browser of its own.
# Never fails the build: without root or apt the browser test skips and says why.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: not root or no apt-get; the browser test will be skipped" >&2
  exit 0
fi
echo "install_browser: installing Debian's chromium (about a minute)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
  echo "install_browser: apt-get could not install chromium; the browser test will be skipped" >&2
fi
exit 0
