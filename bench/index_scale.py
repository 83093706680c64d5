#!/usr/bin/env python3
"""blocksmith index at scale: a curve, not a point.

Generates (once, kept under --out) and indexes from scratch, in one run, chains of 119,341
blocks that grow towards mainnet's shape (python3 ../shared/tools/make_chain.py --spend ...):

  standard   --spend                                       125 MB, UTXO set   82 k
  modern     --spend --modern (segwit/taproot, signet)      125 MB
  1gb        --target-mb 1000 --addresses 2000000 --seed 3  1.0 GB, UTXO set  446 k
  2gb        --target-mb 2000 --addresses 3000000 --seed 5 --fanout-rate 0.2
             --hold-rate 0.3 --old-spend-rate 0.2           2.0 GB, UTXO set  9.0 M
  2gb at --dbcache 100 (the same chain, the UTXO set far past the caches)
  4gb        (with --large) --target-mb 4000 --addresses 6000000 --seed 7, the 2gb rates

The standard chain is the yardstick: it is indexed first and last, and every other chain's
time per transaction is given as a ratio to the median of those two runs. Each run records
time, us per transaction, MB/s, peak RSS (wait4), database bytes against blk bytes, the UTXO
count, `--timings` and the ledger checks (tip, counts, UTXO set, richest, 1,000 sampled
addresses). On the 2gb chain it also times a re-run with nothing new and 1,000 blocks
appended to an index of the rest. Writes RESULTS.json and a PNG of the curve (matplotlib),
and prints a projection to mainnet from the chain whose UTXO set is furthest past its cache.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from index_bench import BINARY, copy_range, db_size, frames, ledger_checks, peak_rss, query, remove_db, table_sizes, timed  # noqa: E402

RATES = ["--fanout-rate", "0.2", "--hold-rate", "0.3", "--old-spend-rate", "0.2"]
CHAINS = {
    "standard": [],
    "modern": ["--modern"],
    "1gb": ["--target-mb", "1000", "--addresses", "2000000", "--seed", "3"],
    "2gb": ["--target-mb", "2000", "--addresses", "3000000", "--seed", "5", *RATES],
    "4gb": ["--target-mb", "4000", "--addresses", "6000000", "--seed", "7", *RATES],
}
# Mainnet, for the projection: transactions and blk bytes at about block 925,000.
MAINNET_TXS, MAINNET_BYTES = 1.25e9, 720e9


def generate(tools, out, name):
    folder = os.path.join(out, f"{name}-dir")
    ledger = folder + ".ledger.json"
    if not os.path.exists(ledger):
        print(f"generating {name} ...", file=sys.stderr, flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(tools, "make_chain.py"), "--spend", *CHAINS[name], "--blocks-dir", folder,
                        "--ledger", ledger + ".part", "--quiet"], check=True, stdout=subprocess.DEVNULL)
        os.rename(ledger + ".part", ledger)
    return folder, json.load(open(ledger))


def blk_bytes(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.startswith("blk"))


def index_run(label, folder, ledger, out, extra=()):
    db = os.path.join(out, "scale.sqlite")
    remove_db(db)
    print(f"indexing {label} ...", file=sys.stderr, flush=True)
    seconds, peak, err = peak_rss([BINARY, "index", folder, "--db", db, "--timings", *extra])
    stats = query(db, "stats")
    size = db_size(db) * 1e6
    data = blk_bytes(folder)
    run = {
        "label": label, "seconds": seconds, "peak_rss_mb": peak, "blk_bytes": data, "db_bytes": size,
        "transactions": stats["transactions"], "inputs": ledger["inputs"], "outputs": stats["outputs"],
        "utxo_count": stats["utxo_count"], "addresses": stats["addresses"],
        "us_per_tx": seconds / stats["transactions"] * 1e6, "mb_per_s": data / 1e6 / seconds,
        "tables_mb": table_sizes(db), "checks": ledger_checks(db, ledger),
        "timings": [line[6:] for line in err.splitlines() if line.startswith("time: ")],
    }
    print(f"  {label}: {seconds:.1f} s, {run['us_per_tx']:.1f} us/tx, peak {peak:.0f} MB, db {size / data:.2f} x blk, "
          + ", ".join(f"{k} {'ok' if v else 'MISMATCH'}" for k, v in run["checks"].items()), file=sys.stderr, flush=True)
    return run, db


def incremental(folder, db, out, append=True):
    """A re-run with nothing new on the full index (the best of three); then 1,000 blocks
    appended to an index of the rest (the last blk file cut 1,000 frames short, the others linked)."""
    rerun = min(timed([BINARY, "index", folder, "--db", db])[0] for _ in range(3))
    if not append:
        return {"rerun_seconds": rerun}
    files = sorted(f for f in os.listdir(folder) if f.startswith("blk"))
    key_path = os.path.join(folder, "xor.dat")
    key = open(key_path, "rb").read() if os.path.exists(key_path) else b""
    key = key if any(key) else b""
    last = os.path.join(folder, files[-1])
    offsets = frames(last, key)
    if len(offsets) <= 1000:
        return {"rerun_seconds": rerun}
    grow = os.path.join(out, "grow-dir")
    shutil.rmtree(grow, ignore_errors=True)
    os.makedirs(grow)
    for f in os.listdir(folder):
        if f != files[-1] and not f.startswith("rev"):
            os.symlink(os.path.join(os.path.abspath(folder), f), os.path.join(grow, f))
    cut, end = offsets[-1000], os.path.getsize(last)
    copy_range(last, os.path.join(grow, files[-1]), 0, cut, "wb")
    grow_db = os.path.join(out, "grow.sqlite")
    remove_db(grow_db)
    print("indexing the 2gb chain without its last 1,000 blocks ...", file=sys.stderr, flush=True)
    timed([BINARY, "index", grow, "--db", grow_db])
    before = query(grow_db, "stats")["transactions"]
    copy_range(last, os.path.join(grow, files[-1]), cut, end, "ab")
    seconds, _, _ = timed([BINARY, "index", grow, "--db", grow_db])
    grown = query(grow_db, "stats")["transactions"] - before
    same = query(grow_db, "tip")["hash"] == query(db, "tip")["hash"]
    shutil.rmtree(grow)
    remove_db(grow_db)
    return {"rerun_seconds": rerun, "append_seconds": seconds, "append_transactions": grown, "append_tip_ok": same}


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    points = runs  # both standard runs: their spread is the noise of the machine
    for ax, key, title in ((axes[0], "us_per_tx", "time per transaction (us)"), (axes[1], "peak_rss_mb", "peak RSS (MB)"),
                           (axes[2], "db_ratio", "database / blk bytes")):
        for r in points:
            y = r["db_bytes"] / r["blk_bytes"] if key == "db_ratio" else r[key]
            ax.scatter(r["utxo_count"], y, s=40)
            ax.annotate(r["label"], (r["utxo_count"], y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("UTXO set at the tip (outputs, log scale)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[1].axhline(1024, color="red", lw=0.8, ls="--")
    axes[2].axhline(0.6, color="red", lw=0.8, ls="--")
    fig.suptitle("blocksmith index: 119,341-block chains from make_chain.py --spend, one run on one machine")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--large", action="store_true", help="also the 4 GB chain")
    ap.add_argument("--only", nargs="*", help="chains to run besides the standard yardstick")
    ap.add_argument("--append", action=argparse.BooleanOptionalAction, default=True,
                    help="on the 2gb chain, also 1,000 blocks appended to an index of the rest (another full index of it)")
    ap.add_argument("--merge", action="store_true",
                    help="keep the runs of the last RESULTS.json that this run does not repeat (each with the ratio to its own run's yardstick)")
    ap.add_argument("--png", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "index-scale.png"))
    args = ap.parse_args()
    tools = os.path.join(args.shared, "tools")
    os.makedirs(args.out, exist_ok=True)
    names = args.only if args.only is not None else ["modern", "1gb", "2gb", "2gb@100"] + (["4gb"] if args.large else [])
    chains = {n.split("@")[0]: generate(tools, args.out, n.split("@")[0]) for n in ["standard", *names]}

    runs, extras = [], {}
    runs.append(index_run("standard", *chains["standard"], args.out)[0])
    for name in names:
        base, _, cache = name.partition("@")
        run, db = index_run(name if not cache else f"{base} --dbcache {cache}", *chains[base], args.out,
                            ["--dbcache", cache] if cache else [])
        runs.append(run)
        if name == "2gb":
            extras = incremental(chains[base][0], db, args.out, append=args.append)
    runs.append(index_run("standard (again)", *chains["standard"], args.out)[0])
    yardstick = statistics.median([runs[0]["us_per_tx"], runs[-1]["us_per_tx"]])
    for r in runs:
        r["ratio"] = r["us_per_tx"] / yardstick
        r["yardstick_us_per_tx"] = yardstick
    results = os.path.join(args.out, "RESULTS.json")
    if args.merge and os.path.exists(results):
        previous = json.load(open(results))
        labels = {r["label"] for r in runs}
        kept = [r for r in previous["runs"] if r["label"] not in labels]
        runs = runs[:1] + kept + runs[1:]
        extras = extras or previous.get("incremental", {})

    print(f"yardstick: the standard chain, {runs[0]['us_per_tx']:.1f} and {runs[-1]['us_per_tx']:.1f} us a transaction; median {yardstick:.1f}"
          + ("; a run kept from an earlier RESULTS.json has the ratio to its own run's yardstick" if args.merge else ""))
    print(f"{'chain':22} {'blk MB':>7} {'txs':>10} {'UTXO':>10} {'time s':>8} {'us/tx':>7} {'x std':>6} {'MB/s':>6} {'peak MB':>8} {'db/blk':>7}  ledger")
    for r in runs:
        ok = "ok" if all(r["checks"].values()) else "MISMATCH " + ", ".join(k for k, v in r["checks"].items() if not v)
        print(f"{r['label']:22} {r['blk_bytes'] / 1e6:7.0f} {r['transactions']:10,} {r['utxo_count']:10,} {r['seconds']:8.1f} "
              f"{r['us_per_tx']:7.1f} {r['ratio']:6.2f} {r['mb_per_s']:6.1f} {r['peak_rss_mb']:8.0f} {r['db_bytes'] / r['blk_bytes']:7.2f}  {ok}")
    for r in runs[1:-1]:
        print(f"{r['label']}: tables (MB, with indexes): " + ", ".join(f"{n} {mb:.0f}" for n, mb in r["tables_mb"]))
        print("  " + "\n  ".join(r["timings"]))
    if extras:
        line = f"2gb re-run, nothing new: {extras['rerun_seconds']:.2f} s"
        if "append_seconds" in extras:
            per = extras["append_seconds"] / max(extras["append_transactions"], 1) * 1e6
            line += (f"; 1,000 blocks ({extras['append_transactions']:,} transactions) appended: {extras['append_seconds']:.2f} s"
                     f" = {per:.1f} us a transaction, tip {'ok' if extras['append_tip_ok'] else 'MISMATCH'}")
        print(line)
    # Mainnet is in the regime of the run whose UTXO set is furthest past its cache.
    far = max(runs, key=lambda r: (r["utxo_count"], "dbcache" in r["label"]))
    hours = far["us_per_tx"] * MAINNET_TXS / 1e6 / 3600
    print(f"mainnet projection from '{far['label']}' ({far['us_per_tx']:.1f} us a transaction, database {far['db_bytes'] / far['blk_bytes']:.2f} x blk): "
          f"{MAINNET_TXS / 1e9:.2f} G transactions in about {hours:.1f} h on this machine, a database of about "
          f"{far['db_bytes'] / far['blk_bytes'] * MAINNET_BYTES / 1e9:.0f} GB for {MAINNET_BYTES / 1e9:.0f} GB of blk files")
    json.dump({"yardstick_us_per_tx": yardstick, "runs": runs, "incremental": extras}, open(results, "w"), indent=1)
    plot(runs, args.png)
    print(f"plot: {args.png}")
    if not all(all(r["checks"].values()) for r in runs) or not extras.get("append_tip_ok", True):
        sys.exit(1)


if __name__ == "__main__":
    main()
