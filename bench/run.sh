#!/bin/bash
# The benchmarks (see README, "Speed"): builds the release binary, then runs bench.py
# (parse, show, verify) or, with --index, bench/index_bench.py, with --index-scale, bench/index_scale.py
# (the scaling curve), or with --export, bench/export_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product blocksmith 1>&2
if [ "${1:-}" = "--index" ]; then
    shift
    exec python3 bench/index_bench.py "$@"
fi
if [ "${1:-}" = "--index-scale" ]; then
    shift
    exec python3 bench/index_scale.py "$@"
fi
if [ "${1:-}" = "--export" ]; then
    shift
    exec python3 bench/export_bench.py "$@"
fi
exec python3 bench/bench.py "$@"
