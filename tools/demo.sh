#!/usr/bin/env bash
# Set up .venv (torch 2.13.0 CPU build first, then skflux) and run the end-to-end demo
# on the built-in simulator: simulate -> relabel -> ensemble -> locate -> HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup_env.sh
exec .venv/bin/skflux demo "$@"
