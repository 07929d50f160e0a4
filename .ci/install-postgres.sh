#!/usr/bin/env bash
# The PostgreSQL server the store tests start (tests/postgres.py finds it the same way):
# the distribution's package, installed only when no initdb is found. One script for
# `make test` (its pytest step depends on `make postgres`) and .ci/run.
set -euo pipefail

found() {
    { command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; } ||
        compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

if found; then
    exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)  # a CI runner's user with password-less sudo
fi
if { [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; } && command -v apt-get >/dev/null; then
    echo "install-postgres: no PostgreSQL server found; installing the distribution's package"
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    found && exit 0
fi
echo "install-postgres: no PostgreSQL server (initdb) found and none installed (needs root or sudo, and apt-get):" \
    "the PostgreSQL tests are skipped, or fail in CI" >&2
# In CI a missing server is an error here already, not only when the tests fail later.
[ -z "${CI:-}" ]
