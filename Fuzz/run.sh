#!/bin/bash
# Builds blocksmith's libFuzzer targets with AddressSanitizer and runs one of them.
#   Fuzz/run.sh [SECONDS] [TARGET]
# TARGET: FuzzDecoder (default: decoders, scripts, addresses, framing, the assignment's checks),
# FuzzShow (show's text and JSON; every JSON line must parse), FuzzVerify (verify), FuzzIndex
# (blocks indexed in two steps into an in-memory database; balances, UTXO totals and the tip
# are checked after each), FuzzChain (the learning chain's Chain fed fuzzed and patched blocks;
# the best chain must stay linked, valid and never lose work). The corpus of each grows in Fuzz/corpus/TARGET, seeded from the
# fixtures and, for the index, a small generated spend chain.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
target="${2:-FuzzDecoder}"
swift build --scratch-path ../.build-fuzz -c debug \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 1>&2
corpus="corpus/$target"
mkdir -p "$corpus"
max_len=20000
if [ "$target" = FuzzIndex ]; then max_len=200000; fi
if [ "$target" = FuzzChain ] && [ -z "$(ls -A "$corpus")" ]; then
    # Seeds: frames that mine valid blocks on the tip (30: past the first retarget), offer one
    # unrequested, patch a byte of the header or the coinbase, and move the clock.
    python3 - "$corpus" <<'PY'
import os, sys
d = sys.argv[1]
valid = b"\xc0\x00\x00" * 30
open(os.path.join(d, "valid-30"), "wb").write(valid)
open(os.path.join(d, "patched"), "wb").write(valid[:30] + b"\xc5\x02\x00\x48\x00" + b"\xe0\x02\x00\x10\x01" + b"\x8f\x02\x00\x04\x07")
open(os.path.join(d, "raw-garbage"), "wb").write(b"\x00\x50\x00" + bytes(range(80)))
PY
fi
if [ -z "$(ls -A "$corpus")" ]; then
    # Seeds: real blocks (without their preambles) and whole small blk files.
    for f in ../Tests/Fixtures/Data/raw-blocks/testnet3-*.bin ../Tests/Fixtures/Data/blocks/mainnet-000000-000009.blk \
             ../Tests/Fixtures/Data/blocks/mainnet-000170.blk ../Tests/Fixtures/Data/blocks/mainnet-000546.blk; do
        cp "$f" "$corpus/"
    done
    if [ "$target" = FuzzIndex ]; then
        # A mined chain whose transactions spend earlier outputs (coinbases mature at 100).
        # (needs ../shared beside the clone; without it the fixtures alone seed the corpus).
        python3 ../../shared/tools/make_chain.py --spend --blocks 220 --target-mb 0.08 --out "$corpus/spend-220.blk" >/dev/null 2>&1 || true
    fi
fi
# The Swift runtime's backtracer would wait on AddressSanitizer after a crash (a hang): off.
SWIFT_BACKTRACE=enable=no "../.build-fuzz/debug/$target" "$corpus" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1
