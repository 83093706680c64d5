#!/usr/bin/env python3
"""blocksmith export benchmark.

Generates the standard chain whose transactions spend earlier outputs (python3
../shared/tools/make_chain.py --spend: 119,341 blocks, 125 MB) as one plain blk file, indexes
it once, then, in one run:
  - exports it (`blocksmith export`, both tables, 10,000-block partitions) --rounds times,
    each beside the yardstick, `blocksmith parse FILE --json PATH` on the same chain, and
    reports the medians and their ratio (the target: at most 5x), with the export's peak RSS
    and output size;
  - exports with --gzip, and re-runs over a complete export (every partition unchanged);
  - shows that memory does not grow with the chain: peak RSS exporting the first tenth of
    the chain and all of it, and all of it with a cache of 20,000 unspent outputs (every
    other spend is then read back from the index and the blk files).

    python3 bench/export_bench.py [--blocks N] [--rounds R] [--out DIR] [--smoke]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from index_bench import BINARY, peak_rss, timed  # noqa: E402


def folder_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=119341)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    parser.add_argument("--smoke", action="store_true", help="one round, no memory runs (CI)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    generator = os.path.join(ROOT, "..", "shared", "tools", "make_chain.py")
    chain = os.path.join(args.out, "spend-119k.blk" if args.blocks == 119341 else f"spend-{args.blocks}.blk")
    if not os.path.exists(chain):
        subprocess.run([sys.executable, generator, "--spend", "--blocks", str(args.blocks), "--out", chain], check=True,
                       stdout=subprocess.DEVNULL)
    db = os.path.join(args.out, f"export-{args.blocks}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    seconds, _, _ = timed([BINARY, "index", chain, "--db", db])
    print(f"chain: {chain} ({os.path.getsize(chain) / 1e6:.1f} MB, {args.blocks} blocks), indexed in {seconds:.1f} s")

    export_dir = os.path.join(args.out, "export")
    parse_json = os.path.join(args.out, "parse-yardstick.json")
    rounds = 1 if args.smoke else args.rounds
    parse_times, export_times, rss = [], [], []
    for _ in range(rounds):
        seconds, _, _ = timed([BINARY, "parse", chain, "--json", parse_json])
        parse_times.append(seconds)
        shutil.rmtree(export_dir, ignore_errors=True)
        seconds, peak, err = peak_rss([BINARY, "export", "--db", db, "--out", export_dir])
        export_times.append(seconds)
        rss.append(peak)
    parse_median, export_median = statistics.median(parse_times), statistics.median(export_times)
    ratio = export_median / parse_median
    print(f"parse --json (yardstick): median {parse_median:.2f} s of {', '.join(f'{t:.2f}' for t in parse_times)}; "
          f"writes {os.path.getsize(parse_json) / 1e6:.0f} MB")
    print(f"export: median {export_median:.2f} s of {', '.join(f'{t:.2f}' for t in export_times)}; "
          f"writes {folder_size(export_dir) / 1e6:.0f} MB; peak RSS {max(rss):.0f} MB")
    print(f"export / parse --json: {ratio:.2f}x (target: at most 5x) -> {'ok' if ratio <= 5 else 'OVER TARGET'}")
    # The rows against the chain: as many transactions as the index holds.
    stats = json.loads(timed([BINARY, "query", "--db", db, "--json", "stats"])[1])
    rows = sum(json.load(open(os.path.join(export_dir, "_manifests", "transactions", m)))["rows"]
               for m in os.listdir(os.path.join(export_dir, "_manifests", "transactions")))
    if rows != stats["transactions"]:
        sys.exit(f"export wrote {rows} transactions, the index holds {stats['transactions']}")

    seconds, _, err = timed([BINARY, "export", "--db", db, "--out", export_dir])
    print(f"re-run over a complete export: {seconds:.2f} s ({[l for l in err.splitlines() if l.startswith('exported')][0]})")
    if args.smoke:
        return
    gz = os.path.join(args.out, "export-gz")
    shutil.rmtree(gz, ignore_errors=True)
    seconds, _, _ = timed([BINARY, "export", "--db", db, "--out", gz, "--gzip"])
    print(f"export --gzip: {seconds:.2f} s ({seconds / parse_median:.2f}x the yardstick), "
          f"{folder_size(gz) / 1e6:.0f} MB ({folder_size(export_dir) / folder_size(gz):.1f}x smaller)")
    shutil.rmtree(gz, ignore_errors=True)

    tenth = os.path.join(args.out, "export-tenth")
    for label, extra in [("first tenth", ["--to", str(args.blocks // 10)]), ("whole chain", []),
                         ("whole chain, cache of 20,000 outputs", ["--cache-outputs", "20000"])]:
        shutil.rmtree(tenth, ignore_errors=True)
        seconds, peak, _ = peak_rss([BINARY, "export", "--db", db, "--out", tenth, *extra])
        print(f"memory, {label}: peak RSS {peak:.0f} MB in {seconds:.2f} s")
    shutil.rmtree(tenth, ignore_errors=True)


if __name__ == "__main__":
    main()
