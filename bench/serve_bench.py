#!/usr/bin/env python3
"""blocksmith serve benchmark: wrk load on loopback against the index of the standard
119,341-block spend chain (built by bench/index_bench.py), each route measured against a
yardstick measured in the same run: /health, a route of the same server that touches no
database. Yardstick runs alternate with the measured ones and each route is compared with
the mean of the yardsticks on either side (the machine is noisy).

Routes: /api/address/:a over random addresses; /api/address/:a/txs (full esplora
transactions, 25 a page); GraphQL transactionsByAddress, first page, over random
sender/receiver pairs; 32 connections, 2 wrk threads. Then a 60-second mixed run while the
server's RSS is sampled every second (memory must stay flat).

    python3 bench/serve_bench.py [--seconds 15] [--connections 32] [--db bench/out/index.sqlite]
"""
import argparse, json, os, random, re, signal, sqlite3, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LUA = r"""
local lines = {}
for line in io.lines("%s") do lines[#lines + 1] = line end
local i = 0
request = function()
  i = i + 1
  local entry = lines[(i %% #lines) + 1]
  if entry:sub(1, 1) == "{" then
    return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json"}, entry)
  end
  return wrk.format("GET", entry)
end
"""


def wrk(base, requests, seconds, connections, workdir, name):
    paths = os.path.join(workdir, name + ".txt")
    with open(paths, "w") as f:
        f.write("\n".join(requests) + "\n")
    script = os.path.join(workdir, name + ".lua")
    with open(script, "w") as f:
        f.write(LUA % paths)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, base],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p99_ms": p99_ms, "requests": total, "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, socket.groups())) if socket else 0}


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=os.path.join(ROOT, "bench", "out", "index.sqlite"))
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--memory-seconds", type=int, default=60)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--smoke", action="store_true", help="fail only on errors and growing memory, not on the speed targets")
    args = ap.parse_args()
    binary = os.path.join(ROOT, ".build", "release", "blocksmith")
    if not os.path.exists(args.db):
        sys.exit(f"no index at {args.db}: run python3 bench/index_bench.py first")
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    rng = random.Random(1)
    top = db.execute("SELECT MAX(id) FROM addresses").fetchone()[0]
    addresses = []
    while len(addresses) < args.samples:
        row = db.execute("SELECT address FROM addresses WHERE id >= ? ORDER BY id LIMIT 1", (rng.randint(1, top),)).fetchone()
        if row:
            addresses.append(row[0])
    top_tx = db.execute("SELECT MAX(id) FROM transactions").fetchone()[0]
    pairs = []
    while len(pairs) < args.samples:
        # A sender (an input's address) and a receiver (an output's) of one random transaction.
        row = db.execute("""SELECT s.address, r.address FROM inputs i
                            JOIN outputs p ON p.tx_id = i.previous_tx_id AND p.vout = i.previous_vout
                            JOIN outputs o ON o.tx_id = i.tx_id
                            JOIN addresses s ON s.id = p.address_id JOIN addresses r ON r.id = o.address_id
                            WHERE i.tx_id = (SELECT id FROM transactions WHERE id >= ? AND is_coinbase = 0 ORDER BY id LIMIT 1) LIMIT 1""",
                         (rng.randint(1, top_tx),)).fetchone()
        if row:
            pairs.append(row)
    db.close()
    query = "query ($s: String, $r: String) { transactionsByAddress(sender: $s, receiver: $r) { data { hash blockHeight fees total } page { cursor next total } } }"
    routes = {
        "/api/address/:a": [f"/api/address/{a}" for a in addresses],
        "/api/address/:a/txs": [f"/api/address/{a}/txs" for a in addresses],
        "GraphQL transactionsByAddress": [json.dumps({"query": query, "variables": {"s": s, "r": r}}) for s, r in pairs],
    }
    targets = {"/api/address/:a": (0.50, 10), "/api/address/:a/txs": (0.30, 10), "GraphQL transactionsByAddress": (0.20, 25)}
    server = subprocess.Popen([binary, "serve", "--db", args.db, "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    base = server.stdout.readline().strip().split("listening on ")[1]
    workdir = tempfile.mkdtemp(prefix="serve-bench-")
    failed = False
    try:
        # Warm up the page cache and the server.
        wrk(base, routes["/api/address/:a/txs"][:200], 3, args.connections, workdir, "warm")
        yard = [wrk(base, ["/health"], args.seconds, args.connections, workdir, "health")]
        results = {}
        for name, requests in routes.items():
            results[name] = wrk(base, requests, args.seconds, args.connections, workdir, "route")
            yard.append(wrk(base, ["/health"], args.seconds, args.connections, workdir, "health"))
        sticks = ", ".join("%.0f" % y["rps"] for y in yard)
        print(f"yardstick /health: {sticks} req/s (p99 at most {max(y['p99_ms'] for y in yard):.2f} ms)")
        for i, (name, r) in enumerate(results.items()):
            stick = (yard[i]["rps"] + yard[i + 1]["rps"]) / 2
            ratio, p99_target = targets[name]
            ok = (args.smoke or (r["rps"] / stick >= ratio and r["p99_ms"] < p99_target)) and r["non2xx"] == 0 and r["socket_errors"] == 0
            failed |= not ok
            print(f"{name:32} {r['rps']:8.0f} req/s = {r['rps'] / stick:5.2f} x yardstick (target >= {ratio:.2f}); p99 {r['p99_ms']:6.2f} ms "
                  f"(target < {p99_target} ms); {r['requests']} requests, {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
        import urllib.request
        sizes = [len(urllib.request.urlopen(base + path).read()) for path in routes["/api/address/:a/txs"][:100]]
        txs = results["/api/address/:a/txs"]
        print(f"/api/address/:a/txs answers average {sum(sizes) / len(sizes) / 1000:.0f} kB (100 sampled): "
              f"{txs['rps'] * sum(sizes) / len(sizes) / 1e6:.0f} MB/s of esplora JSON")
        # Memory over a long mixed run.
        samples, stop = [], threading.Event()

        def sample():
            while not stop.wait(1):
                samples.append(rss_mb(server.pid))
        thread = threading.Thread(target=sample)
        thread.start()
        mixed = [x for group in zip(*routes.values()) for x in group]
        r = wrk(base, mixed, args.memory_seconds, args.connections, workdir, "mixed")
        stop.set()
        thread.join()
        settled = samples[len(samples) // 6:]  # after the first tenth of a minute
        growth = (settled[-1] - min(settled)) / min(settled) if settled else 0
        flat = growth < 0.15 and r["non2xx"] == 0 and r["socket_errors"] == 0
        failed |= not flat
        print(f"mixed {args.memory_seconds} s: {r['rps']:.0f} req/s, {r['requests']} requests, {r['non2xx']} non-2xx, {r['socket_errors']} socket errors; "
              f"server RSS {samples[0]:.0f} MB at 1 s, {min(settled):.0f}-{max(settled):.0f} MB after, {settled[-1]:.0f} MB at the end "
              f"({growth * 100:+.1f}% from the settled low: {'flat' if flat else 'GROWING'})")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
