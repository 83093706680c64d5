#!/usr/bin/env python3
"""End to end: index the fixtures, start `blocksmith serve` on port 0, call every REST
endpoint and GraphQL with curl, and compare with `blocksmith query --json` on the same
database. Then --follow (blocks appear while it runs) and a clean stop on SIGTERM.

    python3 tests/serve_e2e.py [--binary .build/release/blocksmith]
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "Tests/Fixtures/Data")
SATOSHI, HAL = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
PIZZA = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def start(binary, *args):
    server = subprocess.Popen([binary, "serve", "--bind", "127.0.0.1:0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    if not line.startswith("listening on http://127.0.0.1:"):
        server.kill()
        sys.exit(f"serve did not start: {line!r} {server.stderr.read()}")
    return server, line.split("listening on ")[1]


def curl(base, path, data=None):
    """(status, body) from curl."""
    command = ["curl", "-s", "-w", "\n%{http_code}", base + path]
    if data is not None:
        command += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(data)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


def api(base, path):
    status, body = curl(base, path)
    check(status == 200, f"{path}: status {status} {body[:200]}")
    try:
        return json.loads(body)
    except ValueError:
        return body


def query(binary, db, *args):
    out = subprocess.run([binary, "query", *args, "--db", db, "--json"], capture_output=True, text=True)
    check(out.returncode == 0, f"query {args}: {out.stderr}")
    return json.loads(out.stdout) if out.returncode == 0 else {}


def compare(binary, db, base):
    tip = query(binary, db, "tip")
    check(api(base, "/api/blocks/tip/height") == tip["height"], "tip height")
    check(api(base, "/api/blocks/tip/hash") == tip["hash"], "tip hash")
    for height in [0, 1, 9, 170, 181, 300, 546, 586, tip["height"]]:
        expected = query(binary, db, "block", str(height))
        check(api(base, f"/api/block-height/{height}") == expected["hash"], f"block-height {height}")
        block = api(base, f"/api/block/{expected['hash']}")
        for ours, theirs in [("height", "height"), ("size", "size"), ("weight", "weight"), ("tx_count", "tx_count"), ("timestamp", "time"),
                             ("version", "version"), ("nonce", "nonce"), ("merkle_root", "merkle_root"), ("mediantime", "median_time")]:
            check(block[ours] == expected[theirs], f"block {height} {ours}: {block[ours]} != {expected[theirs]}")
        check(block["bits"] == int(expected["bits"], 16), f"block {height} bits")
        status = api(base, f"/api/block/{expected['hash']}/status")
        check(status["in_best_chain"] is True and status["height"] == height and status["next_best"] == expected["next_best"], f"block {height} status")
        txids = api(base, f"/api/block/{expected['hash']}/txids")
        check(len(txids) == expected["tx_count"], f"block {height} txids")
        txs = api(base, f"/api/block/{expected['hash']}/txs")
        check([t["txid"] for t in txs] == txids[:25], f"block {height} txs")
        for txid in txids:
            ours = api(base, f"/api/tx/{txid}")
            theirs = query(binary, db, "tx", txid)
            check(ours["fee"] == (theirs["fee"] or 0), f"tx {txid} fee")
            check([o["value"] for o in ours["vout"]] == [o["value"] for o in theirs["outputs"]], f"tx {txid} outputs")
            check([o.get("scriptpubkey_address") for o in ours["vout"]] == [o["address"] for o in theirs["outputs"]], f"tx {txid} addresses")
            check([i["prevout"]["value"] if i["prevout"] else None for i in ours["vin"] if not i["is_coinbase"]] == [i["value"] for i in theirs["inputs"]], f"tx {txid} input values")
            check(ours["status"]["block_height"] == theirs["height"] and ours["size"] == theirs["size"] and ours["weight"] == theirs["weight"], f"tx {txid} status")
            check(len(api(base, f"/api/tx/{txid}/hex")) == 2 * theirs["size"], f"tx {txid} hex")
            spends = api(base, f"/api/tx/{txid}/outspends")
            check([s.get("txid") for s in spends] == [o["spent_by"] for o in theirs["outputs"]], f"tx {txid} outspends")
    addresses = [a["address"] for a in query(binary, db, "richest", "--limit", "40")["items"]] + [SATOSHI, HAL]
    for address in addresses:
        theirs = query(binary, db, "address", address)
        stats = api(base, f"/api/address/{address}")["chain_stats"]
        check((stats["tx_count"], stats["funded_txo_sum"], stats["spent_txo_sum"]) == (theirs["tx_count"], theirs["received"], theirs["sent"]), f"address {address}")
        utxo = api(base, f"/api/address/{address}/utxo")
        expected = query(binary, db, "utxos", address)["items"]
        check(sorted((u["txid"], u["vout"], u["value"]) for u in utxo) == sorted((u["txid"], u["vout"], u["value"]) for u in expected), f"utxo {address}")
        history = [t["txid"] for t in api(base, f"/api/address/{address}/txs")]
        check(history == [i["txid"] for i in query(binary, db, "history", address, "--limit", "25")["items"]], f"txs {address}")
        for height in [100, 200, 589]:
            check(api(base, f"/api/address/{address}/balance?height={height}") == query(binary, db, "balance", address, "--at-height", str(height)), f"balance {address} {height}")
    check(api(base, f"/api/between/{SATOSHI}/{HAL}") == query(binary, db, "between", SATOSHI, HAL, "--limit", "50"), "between")
    check(api(base, f"/api/between/{HAL}/{SATOSHI}?both_ways=true") == query(binary, db, "between", HAL, SATOSHI, "--both-ways", "--limit", "50"), "between both ways")
    check(api(base, "/api/richest?limit=10") == query(binary, db, "richest", "--limit", "10")["items"], "richest")
    check(api(base, "/api/stats") == query(binary, db, "stats"), "stats")
    # GraphQL: OCAP's showcase query.
    status, body = curl(base, "/graphql", {"query": f'{{ transactionsByAddress(sender: "{SATOSHI}", receiver: "{HAL}") {{ data {{ hash blockHeight outputs {{ data {{ account value }} }} }} page {{ total }} }} }}'})
    result = json.loads(body)["data"]["transactionsByAddress"]
    check(status == 200 and result["data"][0]["hash"] == PIZZA and result["page"]["total"] == 1, "graphql transactionsByAddress")
    check({"account": HAL, "value": 1000000000} in result["data"][0]["outputs"]["data"], "graphql pizza output")
    # Errors: 400 for malformed, 404 for unknown, never 500.
    for path, expected in [("/api/tx/xyz", 400), ("/api/address/notanaddress", 400), ("/api/blocks/-1", 400), ("/api/richest?limit=99999", 400),
                           (f"/api/tx/{'0' * 64}", 404), ("/api/block-height/999999", 404), ("/api/unknown", 404)]:
        status, body = curl(base, path)
        check(status == expected and "error" in json.loads(body), f"{path}: {status} {body}")


def follow(binary, workdir):
    folder = os.path.join(workdir, "blocks")
    os.makedirs(folder)
    shutil.copy(os.path.join(DATA, "blocks/mainnet-000000-000099.blk"), os.path.join(folder, "blk00000.dat"))
    db = os.path.join(workdir, "follow.sqlite")
    server, base = start(binary, "--db", db, "--follow", folder)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and curl(base, "/api/blocks/tip/height")[1] != "99":
            time.sleep(0.2)
        check(curl(base, "/api/blocks/tip/height")[1] == "99", "follow: first blocks")
        shutil.copy(os.path.join(DATA, "blocks/mainnet-000000-000589.blk"), os.path.join(folder, "blk00001.dat"))
        deadline = time.time() + 30
        while time.time() < deadline and curl(base, "/api/blocks/tip/height")[1] != "589":
            time.sleep(0.2)
        check(curl(base, "/api/blocks/tip/height")[1] == "589", "follow: new blocks while serving")
        check(curl(base, f"/api/tx/{PIZZA}")[0] == 200, "follow: the pizza transaction")
    finally:
        server.send_signal(signal.SIGINT)
        check(server.wait(timeout=15) == 0, "follow: SIGINT stops the server cleanly")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/blocksmith"))
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="serve-e2e-")
    try:
        db = os.path.join(workdir, "index.sqlite")
        subprocess.run([args.binary, "index", os.path.join(DATA, "blocks/mainnet-000000-000589.blk"), "--db", db], check=True, capture_output=True)
        server, base = start(args.binary, "--db", db)
        try:
            compare(args.binary, db, base)
        finally:
            server.send_signal(signal.SIGTERM)
            check(server.wait(timeout=15) == 0, "SIGTERM stops the server cleanly")
        follow(args.binary, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        sys.exit(f"serve end-to-end: {len(failures)} failures")
    print("serve end-to-end: every endpoint matches blocksmith query")


if __name__ == "__main__":
    main()
