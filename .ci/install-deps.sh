#!/usr/bin/env bash
# Installs, through apt, what the test suite needs and the machine lacks: PostgreSQL server binaries (the tests start
# their own throwaway server from /usr/lib/postgresql/*/bin) and Chromium for browser tests. Noninteractive, as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  missing+=(chromium)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: nothing to install"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${missing[*]} and not root; install them or run as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
apt-get update -qq </dev/null
apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null >/dev/null
echo "install-deps: done"
