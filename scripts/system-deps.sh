#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (Chromium for the browser tests) when they
# are missing. Needs root (CI runs as root); otherwise it says loudly what is missing and the
# tests that need it are skipped with that reason.
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)  # compilemessages (translations)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "!!! Missing Debian packages: ${missing[*]} (not root: cannot install them)." >&2
  echo "!!! Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || echo "!!! apt-get update failed" >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "!!! apt-get install ${missing[*]} failed" >&2
