#!/usr/bin/env bash
# The PostgreSQL server the store tests start (tests/postgres.py finds it the same way):
# the distribution's package, installed only when no initdb is found. One script for
# `make test` (its pytest step depends on `make postgres`) and .ci/run.
set -euo pipefail

found() {
    { command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; } ||
        compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

# Found, or installed now (apt-install.sh says so when it installs).
if found || { "$(dirname "$0")/apt-install.sh" postgresql && found; }; then
    exit 0
fi
echo "install-postgres: no PostgreSQL server (initdb) found and none installed (needs root or sudo, and apt-get):" \
    "the PostgreSQL tests are skipped, or fail in CI" >&2
# In CI a missing server is an error here already, not only when the tests fail later.
[ -z "${CI:-}" ]
