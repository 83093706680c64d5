#!/usr/bin/env python3
"""Every query and route, timed on indexes of different sizes: which costs grow with the chain?

For each index (--db, two or more: the first is the yardstick, typically the standard chain's),
starts `blocksmith serve` on a free port and times each REST route, each GraphQL root field
and each `blocksmith query` command once warm, as the median of --repeat calls, on samples
picked the same way in every index (the tip, the block and the transaction at mid-chain, the
busiest address, an address of median activity, a sender/receiver pair of one transaction).
Prints a table of ms per call and answer bytes, and flags a route whose time grows by more than
--grow times the yardstick's while its answer does not grow as much: a cost that follows the
chain rather than the answer.

    python3 bench/route_scale.py --db bench/out/scale-standard.sqlite --db bench/out/scale-2gb.sqlite
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "blocksmith")


def samples(db):
    """Sample keys read straight from the index (read-only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    one = lambda sql, *a: con.execute(sql, a).fetchone()
    tip = one("SELECT MAX(height) FROM blocks WHERE in_best_chain = 1")[0]
    mid = tip // 2
    block = one("SELECT hash, first_tx_id + tx_count - 1 FROM blocks WHERE in_best_chain = 1 AND height = ?", mid)
    tx = one("SELECT txid, id FROM transactions WHERE id = ?", block[1])  # the block's last
    busiest = one("SELECT address FROM addresses ORDER BY tx_count DESC LIMIT 1")[0]
    count = one("SELECT COUNT(*) FROM addresses")[0]
    median = one("SELECT address FROM addresses WHERE tx_count > 1 AND id >= ? ORDER BY id LIMIT 1", count // 2)[0]
    # A transaction in the second half with an input address and another output address.
    pair = one("""SELECT ai.address, ao.address FROM transactions t JOIN inputs i ON i.tx_id = t.id
                  JOIN outputs p ON p.tx_id = i.previous_tx_id AND p.vout = i.previous_vout
                  JOIN outputs o ON o.tx_id = t.id JOIN addresses ai ON ai.id = p.address_id JOIN addresses ao ON ao.id = o.address_id
                  WHERE t.id >= (SELECT MAX(id) FROM transactions) * 3 / 4 AND t.is_coinbase = 0 AND ai.id != ao.id LIMIT 1""")
    con.close()
    return {"tip": tip, "mid": mid, "block": bytes(block[0])[::-1].hex(), "tx": bytes(tx[0])[::-1].hex(),
            "busiest": busiest, "median": median, "sender": pair[0], "receiver": pair[1]}


def routes(s):
    gql = lambda q: ("POST", "/graphql", json.dumps({"query": q}))
    get = lambda p: ("GET", p, None)
    return [
        ("GET /api/stats", get("/api/stats")),
        ("GET /api/blocks/tip/height", get("/api/blocks/tip/height")),
        ("GET /api/blocks", get("/api/blocks")),
        ("GET /api/blocks/:mid", get(f"/api/blocks/{s['mid']}")),
        ("GET /api/block-height/:mid", get(f"/api/block-height/{s['mid']}")),
        ("GET /api/block/:hash", get(f"/api/block/{s['block']}")),
        ("GET /api/block/:hash/status", get(f"/api/block/{s['block']}/status")),
        ("GET /api/block/:hash/txids", get(f"/api/block/{s['block']}/txids")),
        ("GET /api/block/:hash/txs", get(f"/api/block/{s['block']}/txs")),
        ("GET /api/tx/:txid", get(f"/api/tx/{s['tx']}")),
        ("GET /api/tx/:txid/status", get(f"/api/tx/{s['tx']}/status")),
        ("GET /api/tx/:txid/hex", get(f"/api/tx/{s['tx']}/hex")),
        ("GET /api/tx/:txid/outspends", get(f"/api/tx/{s['tx']}/outspends")),
        ("GET /api/address/:median", get(f"/api/address/{s['median']}")),
        ("GET /api/address/:median/txs", get(f"/api/address/{s['median']}/txs")),
        ("GET /api/address/:median/utxo", get(f"/api/address/{s['median']}/utxo")),
        ("GET /api/address/:busiest", get(f"/api/address/{s['busiest']}")),
        ("GET /api/address/:busiest/txs", get(f"/api/address/{s['busiest']}/txs")),
        ("GET /api/address/:busiest/utxo", get(f"/api/address/{s['busiest']}/utxo")),
        ("GET /api/address/:busiest/balance", get(f"/api/address/{s['busiest']}/balance?height={s['mid']}")),
        ("GET /api/address/:busiest/history", get(f"/api/address/{s['busiest']}/history?limit=25")),
        ("GET /api/search/:txid", get(f"/api/search/{s['tx']}")),
        ("GET /api/between/:a/:b", get(f"/api/between/{s['sender']}/{s['receiver']}")),
        ("GET /api/richest", get("/api/richest?limit=10")),
        ("GraphQL blockchainInfo", gql("{ blockchainInfo { network latestHeight } }")),
        ("GraphQL blockByHeight", gql(f"{{ blockByHeight(height: {s['mid']}) {{ hash numberTxs fees reward total }} }}")),
        ("GraphQL listBlocks", gql("{ listBlocks { data { hash height } } }")),
        ("GraphQL transactionByHash", gql(f'{{ transactionByHash(hash: "{s["tx"]}") {{ hash fees inputs {{ data {{ account value }} }} outputs {{ data {{ account value spentBy }} }} }} }}')),
        ("GraphQL accountByAddress", gql(f'{{ accountByAddress(address: "{s["busiest"]}") {{ balance numberTxs scriptType numberTxsReceived numberTxsSent transactions {{ data {{ hash }} }} }} }}')),
        ("GraphQL transactionsByAddress", gql(f'{{ transactionsByAddress(sender: "{s["sender"]}", receiver: "{s["receiver"]}") {{ data {{ hash }} page {{ total }} }} }}')),
        ("GraphQL richestAccounts", gql("{ richestAccounts { data { address balance } } }")),
    ]


def queries(s):
    return [
        ("query stats", ["stats"]), ("query tip", ["tip"]), ("query address :busiest", ["address", s["busiest"]]),
        ("query history :busiest", ["history", s["busiest"], "--limit", "25"]),
        ("query utxos :busiest", ["utxos", s["busiest"]]),
        ("query between :a :b", ["between", s["sender"], s["receiver"]]), ("query richest", ["richest", "--limit", "10"]),
        ("query tx :txid", ["tx", s["tx"]]),
    ]


def time_call(call, repeat):
    times, size = [], 0
    for i in range(repeat + 1):
        start = time.perf_counter()
        size = call()
        if i:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), size


def measure(db, repeat):
    s = samples(db)
    server = subprocess.Popen([BINARY, "serve", "--db", db, "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = server.stdout.readline().strip().split()[-1]
    results = {}
    try:
        for name, (method, path, body) in routes(s):
            def call():
                request = urllib.request.Request(base + path, data=body.encode() if body else None, method=method,
                                                 headers={"Content-Type": "application/json"} if body else {})
                with urllib.request.urlopen(request, timeout=60) as response:
                    payload = response.read()
                    if b'"errors"' in payload[:200] and name.startswith("GraphQL"):
                        raise RuntimeError(f"{name}: {payload[:300]!r}")
                    return len(payload)
            results[name] = time_call(call, repeat)
    finally:
        server.terminate()
        server.wait()
    for name, argv in queries(s):
        def run():
            out = subprocess.run([BINARY, "query", *argv, "--db", db, "--json"], capture_output=True, check=True)
            return len(out.stdout)
        results[name] = time_call(run, max(1, repeat // 2))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", action="append", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--grow", type=float, default=3.0)
    args = ap.parse_args()
    measured = [(db, measure(db, args.repeat)) for db in args.db]
    names = list(measured[0][1])
    print(f"{'route or command':38}" + "".join(f"{os.path.basename(db)[:22]:>24}" for db, _ in measured) + "  growth")
    flagged = []
    for name in names:
        cells, (t0, b0) = "", measured[0][1][name]
        for _, r in measured:
            ms, size = r[name]
            cells += f"{ms:10.2f} ms {size:9,} B"
        ms, size = measured[-1][1][name]
        grows = ms / max(t0, 0.05)
        answer = size / max(b0, 1)
        flag = grows > args.grow and grows > 2 * answer
        if flag:
            flagged.append(name)
        print(f"{name:38}{cells}  {grows:5.1f}x time, {answer:5.1f}x bytes{'  <- grows with the chain' if flag else ''}")
    print("grows with the chain rather than its answer: " + (", ".join(flagged) if flagged else "none"))


if __name__ == "__main__":
    main()
