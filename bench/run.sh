#!/bin/bash
# The parse benchmark (see README, "Speed"): builds the release binary, then runs bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product blocksmith 1>&2
exec python3 bench/bench.py "$@"
