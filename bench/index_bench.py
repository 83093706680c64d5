#!/usr/bin/env python3
"""blocksmith index benchmark.

Generates the standard chain whose transactions spend earlier outputs as a Bitcoin Core
blocks folder (shuffled, XOR, stale blocks) with its ledger (python3 ../shared/tools/make_chain.py
--spend --blocks-dir ... --ledger ...), then, in one run:
  - indexes it from scratch --rounds times, each beside the speed yardstick (the
    straightforward Python validator, ../shared/tools/python_baseline.py, on the same chain as
    one plain file), and reports the medians, their ratio and the peak RSS (from wait4);
    `--timings` gives where the time went in the last round;
  - re-runs with nothing new; indexes the chain without its last 1,000 blocks, appends them
    to the blk file (as Core does) and times the run that indexes them;
  - reports the database size per input megabyte and per table;
  - checks the index against the generator's ledger (tip, counts, UTXO set, richest, sampled
    addresses) and times address, history and between queries in process
    (`blocksmith query latency`);
  - does the same for a chain with CoinJoin-shaped transactions (--coinjoin-rate 0.01);
  - with --large (the default for the standard chain), indexes a chain of large blocks
    (make_chain.py --blocks 3000 --target-mb 2500, 1.29 GB, also mined) for peak memory;
  - projects time, size and memory to mainnet's 900,000 blocks.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "blocksmith")


def timed(argv, check=True):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if check and proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {err.decode()[-2000:]}")
    return seconds, out.decode(), err.decode()


def peak_rss(argv):
    """Runs argv; returns (seconds, peak RSS in MB, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = b""
    # Read stderr while waiting (a full pipe would block the child).
    import threading
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stderr.read()))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    reader.join()
    err = b"".join(chunks).decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed: {err[-2000:]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, err


def remove_db(db):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def db_size(db):
    return sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)) / 1e6


def table_sizes(db):
    """MB per table (indexes included), from SQLite's dbstat where it is compiled in."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        rows = con.execute("""SELECT COALESCE(m.tbl_name, s.name), SUM(s.pgsize) FROM dbstat s
                              LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY 1 ORDER BY 2 DESC""").fetchall()
        con.close()
        return [(name, size / 1e6) for name, size in rows]
    except sqlite3.Error:
        return []


def query(db, *a):
    return json.loads(subprocess.run([BINARY, "query", *a, "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)


def ledger_checks(db, ledger):
    stats, tip = query(db, "stats"), query(db, "tip")
    checks = {
        "tip": tip["hash"] == ledger["tip_hash"] and tip["height"] == ledger["tip_height"],
        "transactions": stats["transactions"] == ledger["transactions"],
        "outputs": stats["outputs"] == ledger["outputs"],
        "utxo set": stats["utxo_count"] == ledger["utxo_count"] and stats["utxo_value"] == ledger["utxo_value"],
        "addresses": stats["addresses"] == ledger["addresses_received"],
        "richest": [(x["address"], x["balance"]) for x in query(db, "richest", "--limit", str(len(ledger["richest"])))["items"]]
                   == [(x["address"], x["balance"]) for x in ledger["richest"]],
    }
    mismatched = 0
    for sample in ledger["sample"]:
        got = query(db, "address", sample["address"])
        mismatched += any(got[k] != sample[k] for k in ("balance", "received", "sent", "tx_count"))
    checks[f"{len(ledger['sample'])} sampled addresses"] = mismatched == 0
    return checks


def frames(path, key):
    """Offsets of the block frames in a blk file, reading only each frame's 8-byte header
    (XOR key applied by absolute offset); this process stays small, so the peak RSS its
    children report (which on Linux starts from the parent's at fork) is theirs."""
    offsets, p = [], 0
    with open(path, "rb") as f:
        while True:
            f.seek(p)
            head = f.read(8)
            if len(head) < 8:
                break
            if key:
                head = bytes(b ^ key[(p + i) % 8] for i, b in enumerate(head))
            magic, size = struct.unpack("<II", head)
            if magic == 0:
                break
            offsets.append(p)
            p += 8 + size
    return offsets


def copy_range(source, target, start, end, mode):
    with open(source, "rb") as src, open(target, mode) as dst:
        src.seek(start)
        left = end - start
        while left > 0:
            chunk = src.read(min(left, 1 << 20))
            dst.write(chunk)
            left -= len(chunk)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    ap.add_argument("--blocks", type=int, default=119341)
    ap.add_argument("--rounds", type=int, default=3, help="from-scratch runs (and yardstick runs)")
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--large", action=argparse.BooleanOptionalAction, default=None,
                    help="also the 1.29 GB chain of large blocks (default: for the standard chain)")
    args = ap.parse_args()
    standard = args.blocks == 119341  # the targets are set for the standard chain
    large = standard if args.large is None else args.large
    tools = os.path.join(args.shared, "tools")
    os.makedirs(args.out, exist_ok=True)

    def generate(extra, marker):
        if not os.path.exists(marker):
            print(f"generating {marker} ...", file=sys.stderr)
            subprocess.run([sys.executable, os.path.join(tools, "make_chain.py"), *extra], check=True, stdout=subprocess.DEVNULL)

    folder = os.path.join(args.out, f"spend-{args.blocks // 1000}k-dir")
    ledger_path = folder + ".ledger.json"
    generate(["--spend", "--blocks", str(args.blocks), "--blocks-dir", folder, "--shuffle", "50", "--xor", "0123456789abcdef",
              "--stale", "20", "--ledger", ledger_path], ledger_path)
    plain = os.path.join(args.out, f"spend-{args.blocks // 1000}k.blk")
    generate(["--spend", "--blocks", str(args.blocks), "--out", plain], plain)
    db = os.path.join(args.out, "index.sqlite")
    input_mb = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.startswith("blk")) / 1e6
    ledger = json.load(open(ledger_path))

    # From scratch, alternating with the yardstick.
    runs, sticks, peaks, timings = [], [], [], ""
    for _ in range(args.rounds):
        stick, _, _ = timed([sys.executable, os.path.join(tools, "python_baseline.py"), plain, os.path.join(args.out, "baseline.json")])
        os.remove(os.path.join(args.out, "baseline.json"))
        sticks.append(stick)
        remove_db(db)
        seconds, peak, err = peak_rss([BINARY, "index", folder, "--db", db, "--timings"])
        runs.append(seconds)
        peaks.append(peak)
        timings = "\n".join("  " + line[6:] for line in err.splitlines() if line.startswith("time: "))
    rerun, _, _ = timed([BINARY, "index", folder, "--db", db])
    size = db_size(db)
    tables = table_sizes(db)
    checks = ledger_checks(db, ledger)
    latency = query(db, "latency", "--count", str(args.queries))
    stats = query(db, "stats")

    # 1,000 blocks appended to the blk file of an index that has the rest.
    grow = os.path.join(args.out, "grow-dir")
    shutil.rmtree(grow, ignore_errors=True)
    os.makedirs(grow)
    key = open(os.path.join(folder, "xor.dat"), "rb").read()
    shutil.copy(os.path.join(folder, "xor.dat"), grow)
    blk = os.path.join(folder, "blk00000.dat")
    offsets = frames(blk, key)
    cut = offsets[len(offsets) - 1000]
    end = os.path.getsize(blk)
    copy_range(blk, os.path.join(grow, "blk00000.dat"), 0, cut, "wb")
    grow_db = os.path.join(args.out, "grow.sqlite")
    remove_db(grow_db)
    timed([BINARY, "index", grow, "--db", grow_db])
    before = query(grow_db, "tip")["height"]
    before_txs = query(grow_db, "stats")["transactions"]
    copy_range(blk, os.path.join(grow, "blk00000.dat"), cut, end, "ab")
    grow_seconds, _, grow_err = timed([BINARY, "index", grow, "--db", grow_db])
    grown = query(grow_db, "tip")["height"] - before
    grown_txs = query(grow_db, "stats")["transactions"] - before_txs
    grow_ok = query(grow_db, "tip")["hash"] == ledger["tip_hash"]
    shutil.rmtree(grow)
    remove_db(grow_db)

    # The CoinJoin chain.
    cj = os.path.join(args.out, "coinjoin-6000.blk")
    generate(["--spend", "--blocks", "6000", "--coinjoin-rate", "0.01", "--out", cj, "--ledger", cj + ".ledger.json"], cj + ".ledger.json")
    cj_db = os.path.join(args.out, "coinjoin.sqlite")
    remove_db(cj_db)
    cj_seconds, cj_peak, _ = peak_rss([BINARY, "index", cj, "--db", cj_db])
    cj_size, cj_input = db_size(cj_db), os.path.getsize(cj) / 1e6
    cj_checks = ledger_checks(cj_db, json.load(open(cj + ".ledger.json")))
    cj_latency = query(cj_db, "latency", "--count", str(args.queries))

    # Large blocks: peak memory.
    large_runs = []
    if large:
        for name, extra in (("large-3000.blk", []), ("large-3000-mined.blk", ["--mine"])):
            path = os.path.join(args.out, name)
            generate(["--blocks", "3000", "--target-mb", "2500", *extra, "--out", path], path)
            large_db = os.path.join(args.out, "large.sqlite")
            remove_db(large_db)
            seconds, peak, err = peak_rss([BINARY, "index", path, "--db", large_db])
            summary = next((l for l in err.splitlines() if l.startswith("indexed:")), "")
            large_runs.append((name, os.path.getsize(path) / 1e6, seconds, peak, summary))
            remove_db(large_db)

    target = lambda text: f"   (target: {text})" if standard else ""
    median, stick = statistics.median(runs), statistics.median(sticks)
    print(f"input: {folder}: {input_mb:.1f} MB of blk files, {args.blocks} blocks + stale; "
          f"{stats['transactions']} transactions, {stats['outputs']} outputs")
    print(f"yardstick (python_baseline.py on the same chain): " + ", ".join(f"{s:.2f}" for s in sticks) + f" s; median {stick:.2f} s")
    print(f"index from scratch:   " + ", ".join(f"{s:.2f}" for s in runs) + f" s; median {median:6.2f} s = {median / stick:.2f} x yardstick;"
          f" peak RSS {max(peaks):5.0f} MB" + target("median at most 15 s, under 1 GB"))
    print("  where the time went (last round):\n" + timings)
    print(f"re-run, nothing new:  {rerun:6.2f} s" + target("under 2 s"))
    print(f"+{grown} blocks ({grown_txs} transactions) appended to the file: {grow_seconds:.2f} s, linking every block header included; "
          f"{grow_seconds / grown_txs * 1e6:.1f} us a transaction (from scratch: {median / stats['transactions'] * 1e6:.1f} us); "
          f"tip {'ok' if grow_ok else 'MISMATCH'}")
    print(f"database:             {size:6.1f} MB = {size / input_mb:.2f} x the blk bytes" + target("at most 1.2"))
    if tables:
        print("  " + ", ".join(f"{name} {mb:.1f}" for name, mb in tables) + " (MB, with indexes)")
    print("ledger: " + ", ".join(f"{k} {'ok' if v else 'MISMATCH'}" for k, v in checks.items()))
    for name in ("address", "history", "between"):
        f = latency[name]
        print(f"query {name:8} over {f['count']} random addresses: p50 {f['p50_ms']:.3f} ms, p99 {f['p99_ms']:.3f} ms, max {f['max_ms']:.3f} ms" + target("p99 under 10 ms"))
    print(f"CoinJoin chain ({cj_input:.1f} MB, 6,000 blocks, --coinjoin-rate 0.01): indexed in {cj_seconds:.2f} s, peak RSS {cj_peak:.0f} MB; "
          f"database {cj_size:.1f} MB = {cj_size / cj_input:.2f} x the blk bytes" + target("at most 1.5"))
    print("  ledger: " + ", ".join(f"{k} {'ok' if v else 'MISMATCH'}" for k, v in cj_checks.items()))
    f = cj_latency["between"]
    print(f"  query between over {f['count']} pairs: p50 {f['p50_ms']:.3f} ms, p99 {f['p99_ms']:.3f} ms, max {f['max_ms']:.3f} ms" + target("p99 under 10 ms"))
    for name, mb, seconds, peak, summary in large_runs:
        print(f"large blocks: {name} ({mb:.0f} MB): {seconds:.2f} s, peak RSS {peak:.0f} MB" + target("under 1 GB") + f"\n  {summary}")
    # Mainnet projection: per transaction and per input+output, from this run.
    rows = stats["transactions"] + stats["outputs"] + ledger["inputs"]
    tx_us = median / stats["transactions"] * 1e6
    print(f"per transaction: {tx_us:.1f} us; per input MB: {median / input_mb:.3f} s; database {size * 1e6 / rows:.0f} bytes per transaction+input+output")
    if not (all(checks.values()) and all(cj_checks.values()) and grow_ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
