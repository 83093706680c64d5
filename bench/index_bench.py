#!/usr/bin/env python3
"""blocksmith index benchmark.

Generates the standard chain whose transactions spend earlier outputs as a Bitcoin Core
blocks folder (shuffled, XOR-obfuscated, with stale blocks) with its ledger
(python3 ../shared/tools/make_chain.py --spend --blocks-dir ... --ledger ...), then:
  - times `blocksmith index` from scratch (peak RSS from wait4),
  - times a re-run with nothing new,
  - reports database size per input megabyte,
  - checks the index against the ledger (tip, counts, UTXO set, richest, sampled addresses),
  - times address, history and between queries over random addresses in process
    (`blocksmith query latency`).
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(argv):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed: {err}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out, err


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    ap.add_argument("--blocks", type=int, default=119341)
    ap.add_argument("--queries", type=int, default=3000)
    args = ap.parse_args()
    binary = os.path.join(ROOT, ".build", "release", "blocksmith")
    os.makedirs(args.out, exist_ok=True)
    folder = os.path.join(args.out, f"spend-{args.blocks // 1000}k-dir")
    ledger_path = folder + ".ledger.json"
    if not os.path.exists(ledger_path):
        print(f"generating {folder} ...", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(args.shared, "tools", "make_chain.py"), "--spend", "--blocks", str(args.blocks),
                        "--blocks-dir", folder, "--shuffle", "50", "--xor", "0123456789abcdef", "--stale", "20",
                        "--ledger", ledger_path], check=True, stdout=subprocess.DEVNULL)
    db = os.path.join(args.out, "index.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    input_mb = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.startswith("blk")) / 1e6
    seconds, peak, _, err = timed([binary, "index", folder, "--db", db])
    rerun, rerun_peak, _, _ = timed([binary, "index", folder, "--db", db])
    db_mb = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)) / 1e6

    def query(*a):
        return json.loads(subprocess.run([binary, "query", *a, "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)

    ledger = json.load(open(ledger_path))
    stats, tip = query("stats"), query("tip")
    checks = {
        "tip": tip["hash"] == ledger["tip_hash"] and tip["height"] == ledger["tip_height"],
        "transactions": stats["transactions"] == ledger["transactions"],
        "utxo set": stats["utxo_count"] == ledger["utxo_count"] and stats["utxo_value"] == ledger["utxo_value"],
        "addresses": stats["addresses"] == ledger["addresses_received"],
        "richest": [(x["address"], x["balance"]) for x in query("richest", "--limit", str(len(ledger["richest"])))["items"]]
                   == [(x["address"], x["balance"]) for x in ledger["richest"]],
    }
    mismatched = 0
    for sample in ledger["sample"]:
        got = query("address", sample["address"])
        mismatched += any(got[k] != sample[k] for k in ("balance", "received", "sent", "tx_count"))
    checks[f"{len(ledger['sample'])} sampled addresses"] = mismatched == 0
    latency = query("latency", "--count", str(args.queries))

    standard = args.blocks == 119341  # the targets are set for the standard chain
    target = lambda text: f"   (target: {text})" if standard else ""
    print(f"input: {folder}: {input_mb:.1f} MB of blk files, {args.blocks} blocks + stale")
    print(f"index from scratch:   {seconds:6.2f} s   peak RSS {peak:5.0f} MB" + target("under 60 s, under 1 GB"))
    print(f"re-run, nothing new:  {rerun:6.2f} s   peak RSS {rerun_peak:5.0f} MB" + target("under 2 s"))
    print(f"database:             {db_mb:6.1f} MB = {db_mb / input_mb:.2f} MB per input MB")
    print("ledger: " + ", ".join(f"{k} {'ok' if v else 'MISMATCH'}" for k, v in checks.items()))
    for name in ("address", "history", "between"):
        f = latency[name]
        print(f"query {name:8} over {f['count']} random addresses: p50 {f['p50_ms']:.3f} ms, p99 {f['p99_ms']:.3f} ms, max {f['max_ms']:.3f} ms" + target("p99 under 10 ms"))
    if not all(checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
