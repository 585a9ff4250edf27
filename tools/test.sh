#!/usr/bin/env bash
# Set up .venv (torch 2.13.0 CPU build first, then skflux with its extras; chromium and
# chromedriver for the browser tests when missing) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup_env.sh
# The browser tests (tests/test_web_review.py) drive Debian's chromium through chromedriver:
# when they are missing and we are root on a Debian-like system, they are installed with apt.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing chromium and chromium-driver for the browser tests" >&2
        if ! { apt-get update -qq &&
               DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
                   >/dev/null; }; then
            echo "test.sh: could not install chromium; the browser tests will be skipped" >&2
        fi
    else
        echo "test.sh: chromium/chromedriver missing and cannot be installed here" \
             "(not root or no apt-get); the browser tests will be skipped" >&2
    fi
fi
.venv/bin/ruff check skflux tests benchmarks examples docs
exec .venv/bin/python -m pytest "$@"
