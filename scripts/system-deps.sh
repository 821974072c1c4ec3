#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing: Chromium (browser
# tests), PostgreSQL and Redis (the multi-node suites; tests/servers.py starts them on loopback).
# Needs root (CI runs as root); otherwise it says loudly what is missing and the tests that need
# it are skipped with that reason.
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
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
# policy-rc.d: the packages' own services are not started; the tests start their own servers.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "!!! apt-get install ${missing[*]} failed" >&2
[ "$created_policy" -eq 1 ] && rm -f "$policy"
exit 0
