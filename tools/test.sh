#!/usr/bin/env bash
# Set up .venv (torch 2.13.0 CPU build first, then skflux with its extras) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup_env.sh
.venv/bin/ruff check skflux tests benchmarks examples docs
exec .venv/bin/python -m pytest "$@"
