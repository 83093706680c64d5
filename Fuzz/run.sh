#!/bin/bash
# Builds the decoder fuzzer with libFuzzer and AddressSanitizer and runs it.
#   Fuzz/run.sh [SECONDS]   (default 60; the corpus grows in Fuzz/corpus, seeded from the fixtures)
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
swift build --scratch-path ../.build-fuzz -c debug \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 1>&2
corpus=corpus
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
    # Seeds: real blocks (without their preambles) and whole small blk files.
    for f in ../Tests/Fixtures/Data/raw-blocks/testnet3-*.bin ../Tests/Fixtures/Data/blocks/mainnet-000000-000009.blk \
             ../Tests/Fixtures/Data/blocks/mainnet-000170.blk ../Tests/Fixtures/Data/blocks/mainnet-000546.blk; do
        cp "$f" "$corpus/"
    done
fi
../.build-fuzz/debug/FuzzDecoder "$corpus" -max_total_time="$seconds" -max_len=20000 -print_final_stats=1
