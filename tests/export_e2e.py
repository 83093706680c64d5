#!/usr/bin/env python3
"""`blocksmith export` end to end, against an independent reference and Apache Spark:

1. a Core-style blocks folder (blk files, blocks out of order, xor.dat) of the spend chain
   fixture, indexed and exported: every row of both tables equals the reference's
   (tests/crypto_bitcoin_reference.py: Python's standard library only), keys in the schema
   files' order and nothing else; every manifest matches its file;
2. a run killed part way and run again gives the same files and leaves no temporary;
   --gzip writes the same rows; a re-run writes nothing; --from/--to write the rows of those
   heights; blocks added later rewrite the last partition only;
3. mainnet's first 590 blocks (P2PK outputs, real signatures) equal the reference too;
4. hostile command lines end with a clear message and status 2, and touch nothing;
5. Spark (pyspark, local mode) loads the export with the explicit schema and finds the
   index's transactions per block, output values, fees and input counts (and a changed
   figure fails the job). Skipped with a note if pyspark is not installed.

    python3 tests/export_e2e.py [--binary .build/release/blocksmith] [--no-spark]
"""
import argparse, glob, gzip, json, os, random, shutil, sqlite3, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from crypto_bitcoin_reference import frames, reference_rows  # noqa: E402

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(binary, *args, expect=0):
    p = subprocess.run([binary, *args], capture_output=True, text=True)
    check(p.returncode == expect, f"blocksmith {' '.join(args)}: exit {p.returncode}, expected {expect}: {p.stderr[-500:]}")
    return p


def pairs(line):
    return json.loads(line, object_pairs_hook=lambda items: items)


def files(directory, table):
    """(start, end, path) of each partition file, in block order."""
    found = []
    root = os.path.join(directory, table)
    for start in sorted(os.listdir(root)):
        for end in sorted(os.listdir(os.path.join(root, start))):
            for name in os.listdir(os.path.join(root, start, end)):
                check(not name.startswith("."), f"temporary file left: {name}")
                found.append((int(start.split("=")[1]), int(end.split("=")[1]), os.path.join(root, start, end, name)))
    return sorted(found)


def lines(directory, table):
    out = []
    for _, _, path in files(directory, table):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as f:
            out += f.read().splitlines()
    return out


def snapshot(directory):
    """Every file's path, size and modification time."""
    state = {}
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(folder, name)
            st = os.stat(path)
            state[os.path.relpath(path, directory)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return state


def compare(directory, blocks, what, first_height=0):
    """The export's rows against the reference's for `blocks` (raw, in height order)."""
    expected = {"blocks": [], "transactions": []}
    for table, row in reference_rows(blocks, first_height):
        expected[table].append(row)
    for table in ("blocks", "transactions"):
        actual = [pairs(line) for line in lines(directory, table)]
        check(len(actual) == len(expected[table]), f"{what}: {len(actual)} {table} rows, the reference has {len(expected[table])}")
        # Compared as JSON text of (key, value) lists: order, names and values all count.
        wrong = [(a, e) for a, e in zip(actual, expected[table]) if json.dumps(a) != json.dumps(e)]
        check(not wrong, f"{what}: {len(wrong)} {table} rows differ from the reference; first:\n  export    {json.dumps(wrong[0][0])[:1500]}\n  reference {json.dumps(wrong[0][1])[:1500]}" if wrong else "")
    return expected


def check_schema_order(expected):
    """The reference's keys are the schema files' fields, in order, nested included."""
    for table in ("blocks", "transactions"):
        with open(os.path.join(ROOT, "schemas", "crypto_bitcoin", table + ".json")) as f:
            schema = json.load(f)
        row = expected[table][-1]
        check([k for k, _ in row] == [f["name"] for f in schema], f"{table}: keys differ from the schema file")
        for field in schema:
            if field.get("fields"):
                nested = [dict(row)[field["name"]]]
                items = [item for item in nested[0]] if nested[0] else []
                for item in items[:1]:
                    check([k for k, _ in item] == [f["name"] for f in field["fields"]], f"{table}.{field['name']}: keys differ from the schema")


def check_manifests(directory, gz):
    for table in ("blocks", "transactions"):
        for start, end, path in files(directory, table):
            name = f"{table}_{start:08d}_{end:08d}.json"
            with open(os.path.join(directory, "_manifests", table, name)) as f:
                manifest = json.load(f)
            opener = gzip.open if gz else open
            with opener(path, "rt") as f:
                rows = [json.loads(line) for line in f.read().splitlines()]
            check(manifest["rows"] == len(rows) and manifest["bytes"] == os.path.getsize(path) and manifest["gzip"] == gz,
                  f"{name}: manifest rows/bytes/gzip {manifest['rows']}/{manifest['bytes']}/{manifest['gzip']} vs the file")
            check(manifest["start_block"] == start and manifest["end_block"] == end, f"{name}: manifest range")
            if table == "transactions":
                sums = {"input_count": sum(r["input_count"] for r in rows), "output_count": sum(r["output_count"] for r in rows),
                        "input_value": sum(r["input_value"] for r in rows), "output_value": sum(r["output_value"] for r in rows),
                        "fee": sum(r["fee"] for r in rows), "coinbase_transactions": sum(r["is_coinbase"] for r in rows)}
            else:
                sums = {"transaction_count": sum(r["transaction_count"] for r in rows)}
                check(manifest["last_block_hash"] == rows[-1]["hash"], f"{name}: manifest last block hash")
            check(manifest["sums"] == sums, f"{name}: manifest sums {manifest['sums']} vs {sums}")


def core_folder(path, blocks, files_count=3, key=bytes.fromhex("0123456789abcdef"), seed=7):
    """Writes `blocks` as Core does: several blk files, blocks out of order within a window,
    obfuscated with xor.dat."""
    os.makedirs(path, exist_ok=True)
    rng = random.Random(seed)
    order = list(range(len(blocks)))
    for i in range(0, len(order), 40):
        window = order[i:i + 40]
        rng.shuffle(window)
        order[i:i + 40] = window
    per_file = (len(order) + files_count - 1) // files_count
    existing = len([n for n in os.listdir(path) if n.startswith("blk")])
    for n in range(files_count):
        data = b"".join(b"\xf9\xbe\xb4\xd9" + len(blocks[i]).to_bytes(4, "little") + blocks[i] for i in order[n * per_file:(n + 1) * per_file])
        data = bytes(b ^ key[(j) % 8] for j, b in enumerate(data))
        with open(os.path.join(path, f"blk{existing + n:05d}.dat"), "wb") as f:
            f.write(data)
    with open(os.path.join(path, "xor.dat"), "wb") as f:
        f.write(key)


def expected_from_index(db, path):
    """Per block, from the index: transactions, sum of output values, fees, input counts."""
    con = sqlite3.connect(db)
    rows = {h: {"number": h, "transaction_count": n, "output_value": 0, "fee": 0, "input_count": 0}
            for h, n in con.execute("SELECT height, tx_count FROM blocks WHERE in_best_chain = 1")}
    for h, v in con.execute("SELECT t.height, SUM(o.value) FROM outputs o JOIN transactions t ON t.id = o.tx_id GROUP BY t.height"):
        rows[h]["output_value"] = v
    for h, fee in con.execute("SELECT height, SUM(fee) FROM transactions WHERE is_coinbase = 0 GROUP BY height"):
        rows[h]["fee"] = fee
    for h, c in con.execute("SELECT t.height, COUNT(*) FROM inputs i JOIN transactions t ON t.id = i.tx_id WHERE t.is_coinbase = 0 GROUP BY t.height"):
        rows[h]["input_count"] = c
    with open(path, "w") as f:
        for h in sorted(rows):
            f.write(json.dumps(rows[h]) + "\n")
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "blocksmith"))
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--require-spark", action="store_true", help="fail, not skip, without pyspark (CI)")
    args = parser.parse_args()
    b = args.binary
    work = tempfile.mkdtemp(prefix="blocksmith-export-")
    try:
        with open(os.path.join(ROOT, "Tests", "Fixtures", "Data", "spend-chain", "spend-2000.blk"), "rb") as f:
            chain = list(frames(f.read()))
        check(len(chain) == 2000, f"spend-2000.blk holds {len(chain)} blocks")

        # 1. The first 1,500 blocks in a Core-style folder, then the rest in a later file.
        folder, db, out = os.path.join(work, "blocks"), os.path.join(work, "index.sqlite"), os.path.join(work, "out")
        core_folder(folder, chain[:1500])
        run(b, "index", folder, "--db", db)
        p = run(b, "export", "--db", db, "--out", out, "--partition-blocks", "700")
        check("6 files written, 0 unchanged" in p.stderr, f"first export: {p.stderr.strip()}")
        compare(out, chain[:1500], "first 1500 blocks")
        core_folder(folder, chain[1500:], files_count=1, seed=8)
        run(b, "index", folder, "--db", db)
        before = snapshot(out)
        p = run(b, "export", "--db", db, "--out", out, "--partition-blocks", "700")
        check("2 files written, 4 unchanged, 2 replaced or above the tip removed" in p.stderr, f"after growth: {p.stderr.strip()}")
        after = snapshot(out)
        kept = [k for k in before if k.startswith(("blocks/start_block=00000000", "transactions/start_block=00000700"))]
        check(kept and all(after.get(k) == before[k] for k in kept), "unchanged partitions were rewritten")
        check(not any("end_block=00001499" in k for k in after), "the replaced partition 1400-1499 is still there")
        expected = compare(out, chain, "2000 blocks after growth")
        check_schema_order(expected)
        check_manifests(out, gz=False)

        # 2. Killed part way (SIGKILL), then run again: the same files, no temporary left.
        again = os.path.join(work, "again")
        proc = subprocess.Popen([b, "export", "--db", db, "--out", again, "--partition-blocks", "100"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline and not glob.glob(os.path.join(again, "transactions", "*", "*", ".*.tmp-*")):
            time.sleep(0.001)
        proc.kill()
        proc.wait()
        run(b, "export", "--db", db, "--out", again, "--partition-blocks", "100")
        check(not glob.glob(os.path.join(again, "*", "*", "*", ".*")), "temporary files left after a killed run")
        check(lines(again, "transactions") == lines(out, "transactions") and lines(again, "blocks") == lines(out, "blocks"),
              "a killed run, run again, gives other rows")

        # A re-run writes nothing; gzip gives the same rows; a range gives its rows.
        before = snapshot(out)
        p = run(b, "export", "--db", db, "--out", out, "--partition-blocks", "700")
        check("0 files written, 6 unchanged" in p.stderr and snapshot(out) == before, f"re-run: {p.stderr.strip()}")
        gz = os.path.join(work, "gz")
        run(b, "export", "--db", db, "--out", gz, "--gzip", "--tables", "transactions,blocks")
        check(lines(gz, "transactions") == lines(out, "transactions") and lines(gz, "blocks") == lines(out, "blocks"), "gzip rows differ")
        check(all(path.endswith(".json.gz") for _, _, path in files(gz, "transactions")), "gzip file names")
        check_manifests(gz, gz=True)
        part = os.path.join(work, "part")
        run(b, "export", "--db", db, "--out", part, "--from", "1234", "--to", "1789", "--tables", "transactions", "--partition-blocks", "250")
        check(not os.path.exists(os.path.join(part, "blocks")), "--tables transactions wrote blocks")
        check([(s, e) for s, e, _ in files(part, "transactions")] == [(1234, 1249), (1250, 1499), (1500, 1749), (1750, 1789)], "range partitions")
        whole = [line for line in lines(out, "transactions") if 1234 <= json.loads(line)["block_number"] <= 1789]
        check(lines(part, "transactions") == whole, "--from/--to rows differ from the whole export's")

        # 3. Mainnet's first 590 blocks.
        with open(os.path.join(ROOT, "Tests", "Fixtures", "Data", "blocks", "mainnet-000000-000589.blk"), "rb") as f:
            mainnet = list(frames(f.read()))
        mdb, mout = os.path.join(work, "mainnet.sqlite"), os.path.join(work, "mainnet")
        run(b, "index", os.path.join(ROOT, "Tests", "Fixtures", "Data", "blocks", "mainnet-000000-000589.blk"), "--db", mdb)
        run(b, "export", "--db", mdb, "--out", mout)
        compare(mout, mainnet, "mainnet 0-589")

        # 4. Hostile command lines: status 2, a message, nothing written.
        before = snapshot(out)
        for bad, message in [
            (["--partition-blocks", "0"], "--partition-blocks must be between"),
            (["--partition-blocks=-5"], "--partition-blocks must be between"),
            (["--partition-blocks", "-5"], "Missing value"),
            (["--partition-blocks", "18446744073709551616"], "partition-blocks"),
            (["--from", "2000"], "above the best chain's tip, height 1999"),
            (["--from", "9223372036854775807"], "above the best chain's tip"),
            (["--from=-1"], "--from must be a height"),
            (["--from", "10", "--to", "9"], "is below --from"),
            (["--tables", "blocks,inputs"], 'no table "inputs"'),
            (["--tables", ""], "no table"),
            (["--tables", "x" * 5000], "no table"),
            (["--from", "abc"], "from"),
        ]:
            p = run(b, "export", "--db", db, "--out", out, *bad, expect=2)
            check(message in p.stderr, f"export {' '.join(a[:40] for a in bad)}: {p.stderr.strip()[:300]!r} lacks {message!r}")
        check(snapshot(out) == before, "a refused command changed the export")
        p = run(b, "export", "--db", os.path.join(work, "nothing.sqlite"), "--out", out, expect=2)
        check("no such index" in p.stderr, f"missing index: {p.stderr.strip()}")
        with open(os.path.join(work, "a-file"), "w") as f:
            f.write("x")
        p = run(b, "export", "--db", db, "--out", os.path.join(work, "a-file"), expect=2)
        check("is not a folder" in p.stderr, f"--out a file: {p.stderr.strip()}")
        garbage = os.path.join(work, "garbage.sqlite")
        with open(garbage, "wb") as f:
            f.write(os.urandom(4096))
        p = run(b, "export", "--db", garbage, "--out", os.path.join(work, "g"), expect=2)
        check(p.returncode == 2 and "Traceback" not in p.stderr, f"garbage index: {p.stderr.strip()[:200]}")

        # 5. Spark.
        if args.no_spark:
            print("spark: skipped (--no-spark)")
        else:
            try:
                import pyspark  # noqa: F401
            except ImportError:
                check(not args.require_spark, "pyspark is not installed")
                print("spark: skipped (pyspark is not installed; .ci/run installs it)")
            else:
                expected_path = os.path.join(work, "expected.ndjson")
                rows = expected_from_index(db, expected_path)
                job = [sys.executable, os.path.join(ROOT, "spark", "check_export.py"), gz, "--expected", expected_path,
                       "--report", os.path.join(work, "report.json")]
                p = subprocess.run(job, capture_output=True, text=True)
                check(p.returncode == 0 and "spark check: ok" in p.stdout, f"spark job: {p.stdout[-800:]} {p.stderr[-1500:]}")
                with open(os.path.join(work, "report.json")) as f:
                    totals = json.load(f)["totals"]
                check(totals["blocks"] == 2000 and totals["transactions"] == sum(r["transaction_count"] for r in rows.values())
                      and totals["fee"] == sum(r["fee"] for r in rows.values()), f"spark totals {totals}")
                print("spark totals:", json.dumps(totals, sort_keys=True))
                # A figure that differs from the export's must fail the job.
                rows[1777]["fee"] += 1
                with open(expected_path, "w") as f:
                    for h in sorted(rows):
                        f.write(json.dumps(rows[h]) + "\n")
                p = subprocess.run(job, capture_output=True, text=True)
                check(p.returncode == 1 and "block 1777 differs from the index" in p.stderr, f"spark job with a wrong fee: {p.returncode} {p.stderr[-600:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("export e2e:", "ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
