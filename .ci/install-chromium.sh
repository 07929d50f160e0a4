#!/usr/bin/env bash
# The headless browser the console tests drive (tests/console/browser.py finds it the same
# way): the distribution's Chromium, installed only when none is found; Playwright never
# downloads a browser of its own. One script for `make test` (its pytest step depends on
# `make chromium`) and .ci/run.
set -euo pipefail

found() {
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null
}

# Found, or installed now (apt-install.sh says so when it installs).
if found || { "$(dirname "$0")/apt-install.sh" chromium && found; }; then
    exit 0
fi
echo "install-chromium: no Chromium found and none installed (needs root or sudo, and apt-get):" \
    "the console's browser tests are skipped, or fail in CI" >&2
# In CI a missing browser is an error here already, not only when the tests fail later.
[ -z "${CI:-}" ]
