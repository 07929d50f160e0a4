#!/usr/bin/env bash
# apt-get install PACKAGE as root (or with password-less sudo), quietly; exits 1 when it
# cannot (no root, no sudo, no apt-get). Shared by the install-*.sh scripts.
set -euo pipefail
as_root=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)  # a CI runner's user with password-less sudo
fi
if { [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; } && command -v apt-get >/dev/null; then
    echo "$(basename "$0"): installing the distribution's package $1"
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
    exit 0
fi
exit 1
