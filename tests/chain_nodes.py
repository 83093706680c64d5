#!/usr/bin/env python3
"""Several `blocksmith chain` nodes on loopback ports the OS picks, checked by waiting on
conditions (never fixed sleeps):

1. mine on one node: all converge on the same tip, /blockchain.json and chaindata/json/;
2. split three nodes two against one, mine on both sides, rejoin: the heavier side wins;
3. a peer's block with bad proof of work, the wrong nBits, a wrong merkle root, an unknown
   parent, an old time is refused with Core's reason, and the node keeps its chain;
4. a longer chain with less work (mined here in Python, an independent builder of the same
   block format) is refused, over POST and over sync;
5. SIGKILL a mining node, tear its last write, restart it: blk files, JSON view and tip agree;
6. the chain's blk files pass `blocksmith verify`, `show` and `index`.

    python3 tests/chain_nodes.py [--binary .build/release/blocksmith]
"""
import argparse, glob, hashlib, json, os, random, threading, shutil, signal, struct, subprocess, sys, tempfile, time
import urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAGIC = bytes.fromhex("f09f8e93")
LIMIT_BITS = 0x1F0FFFFF  # three leading hex zeros: the learning chain's proof-of-work limit
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what, flush=True)


def wait(condition, what, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    check(False, f"timed out waiting for: {what}")
    return False


def http(base, path, body=None, method=None, headers=None):
    """(status, bytes)."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method or ("POST" if data is not None else "GET"), headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get(base, path):
    status, body = http(base, path)
    if status != 200:
        raise ValueError(f"{path}: {status} {body[:200]}")
    return json.loads(body)


# --- an independent block builder (the format the README documents) -----------------------

def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def compact_target(bits):
    return (bits & 0x7FFFFF) << (8 * ((bits >> 24) - 3))


def script_number(n):
    if n == 0:
        return b"\x00"
    if n <= 16:
        return bytes([0x50 + n])
    out = b""
    while n:
        out += bytes([n & 0xFF])
        n >>= 8
    if out[-1] & 0x80:
        out += b"\x00"
    return bytes([len(out)]) + out


def coinbase(height, data, value=50 * 100_000_000):
    script = script_number(height) + b"\x08" + struct.pack("<Q", 0)
    data_script = b"\x6a" + bytes([len(data)]) + data
    return (struct.pack("<I", 2) + b"\x01" + b"\x00" * 32 + b"\xff\xff\xff\xff" + bytes([len(script)]) + script
            + b"\xff\xff\xff\xff" + b"\x02" + struct.pack("<q", value) + b"\x01\x51"
            + struct.pack("<q", 0) + bytes([len(data_script)]) + data_script + struct.pack("<I", 0))


def build(prev_hex, height, timestamp, bits, data, solve=True):
    """A block on `prev_hex` (display order) whose hash meets its bits when `solve`, and
    fails them otherwise."""
    tx = coinbase(height, data)
    merkle = sha256d(tx)
    prefix = struct.pack("<I", 0x20000000) + bytes.fromhex(prev_hex)[::-1] + merkle + struct.pack("<II", timestamp, bits)
    target = compact_target(bits)
    nonce = 0
    while True:
        header = prefix + struct.pack("<I", nonce)
        good = int.from_bytes(sha256d(header), "little") <= target
        if good == solve:
            return header + b"\x01" + tx
        nonce += 1


def block_hash(block):
    return sha256d(block[:80])[::-1].hex()


# --- nodes ------------------------------------------------------------------------------------

class Node:
    def __init__(self, binary, work, name, zeros=3):
        self.binary, self.name = binary, name
        self.dir = os.path.join(work, name)
        self.log_path = os.path.join(work, name + ".log")
        self.process = None
        subprocess.run([binary, "chain", "init", "--dir", self.dir, "--zeros", str(zeros)], check=True, capture_output=True)

    def start(self, *args):
        self.log = open(self.log_path, "a")
        start = self.log.tell()
        self.process = subprocess.Popen([self.binary, "chain", "serve", "--dir", self.dir, "--bind", "127.0.0.1:0", "--threads", "1", *args],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.url = None

        def listening():
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited: {open(self.log_path).read()[start:][-2000:]}")
            with open(self.log_path) as f:
                f.seek(start)
                for line in f.read().splitlines():
                    if line.startswith("listening on http://127.0.0.1:"):
                        self.url = line.split("listening on ")[1]
            return self.url is not None and http(self.url, "/tip")[0] == 200
        if not wait(listening, f"{self.name} listening"):
            sys.exit(f"{self.name} did not start: {open(self.log_path).read()[-2000:]}")
        return self

    def stop(self, sig=signal.SIGTERM):
        code = None
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            code = self.process.wait(timeout=30)
        self.process = None
        return code

    def tip(self):
        return get(self.url, "/tip")

    def peer(self, other):
        status, body = http(self.url, "/peers", {"url": other.url})
        check(status == 200, f"{self.name} POST /peers: {status} {body}")

    def unpeer(self, other):
        http(self.url, "/peers", {"url": other.url}, method="DELETE")

    def generate(self, n, data=None):
        body = {"blocks": n}
        if data:
            body["data"] = data
        status, out = http(self.url, "/generate", body)
        check(status == 200, f"{self.name} generate {n}: {status} {out[:300]}")
        return json.loads(out) if status == 200 else []

    def view_files(self):
        files = sorted(glob.glob(os.path.join(self.dir, "json", "*.json")))
        return [json.load(open(f)) for f in files]


def same_tip(nodes):
    tips = [n.tip()["hash"] for n in nodes]
    return len(set(tips)) == 1


def converge(nodes, what, timeout=60):
    done = wait(lambda: same_tip(nodes), what, timeout)
    if not done:
        for n in nodes:
            print(f"  {n.name}: {n.tip()} peers {get(n.url, '/peers')}")
        if os.environ.get("CHAIN_TEST_PAUSE"):
            print("paused: " + " ".join(f"{n.name}={n.process.pid}" for n in nodes), flush=True)
            time.sleep(int(os.environ["CHAIN_TEST_PAUSE"]))
    return done


def check_view(node, what):
    """chaindata/json/, /blockchain.json, /tip and tip.json agree."""
    chain = get(node.url, "/blockchain.json")
    files = node.view_files()
    tip = node.tip()
    check(len(chain) == tip["height"] + 1, f"{what}: /blockchain.json has {len(chain)} blocks at height {tip['height']}")
    check([b["hash"] for b in files] == [b["hash"] for b in chain], f"{what}: json/ files differ from /blockchain.json")
    check(chain[-1]["hash"] == tip["hash"], f"{what}: /blockchain.json ends at the tip")
    check(json.load(open(os.path.join(node.dir, "tip.json"))) == tip, f"{what}: tip.json is /tip")
    for i, b in enumerate(chain):
        header = bytes.fromhex(b["header"])
        check(b["index"] == i and sha256d(header)[::-1].hex() == b["hash"], f"{what}: block {i} hash is its header's")
        check(i == 0 or b["prev_hash"] == chain[i - 1]["hash"], f"{what}: block {i} links to {i - 1}")
        check(int(b["hash"], 16) <= int(b["target"], 16), f"{what}: block {i} meets its target")
    return chain


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/blocksmith"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="blocksmith-chain-")
    nodes = []
    try:
        a, b, c = (Node(args.binary, work, n) for n in ("a", "b", "c"))
        nodes += [a, b, c]
        for n in nodes:
            n.start()
        genesis = {n.tip()["hash"] for n in nodes}
        check(len(genesis) == 1, "same parameters, same genesis block, without a network")
        for x in nodes:
            for y in nodes:
                if x is not y:
                    x.peer(y)

        print("== 1. mine on one node; all converge", flush=True)
        hashes = a.generate(5, "hello from a")
        check(len(hashes) == 5, "generate returns five hashes")
        converge(nodes, "all three nodes on a's tip")
        check(a.tip()["hash"] == hashes[-1], "a's tip is its last block")
        views = [check_view(n, n.name) for n in nodes]
        check(views[0] == views[1] == views[2], "the same /blockchain.json everywhere")
        check(views[0][3]["data"] == "hello from a", "data travels in the block")
        check(get(a.url, "/blockchain.json?from=2&limit=2") == views[0][2:4], "?from=&limit= pages")
        raw = http(b.url, f"/blocks/{hashes[2]}.bin")[1]
        check(block_hash(raw) == hashes[2], "GET /blocks/HASH.bin is the block")
        check(get(c.url, f"/blocks/{hashes[2]}")["hash"] == hashes[2], "GET /blocks/HASH")

        print("== a block whose parent is missing: fetched from the sender", flush=True)
        h = Node(args.binary, work, "h")
        nodes.append(h)
        h.start()
        tip_raw = http(a.url, f"/blocks/{hashes[-1]}.bin")[1]
        status, body = http(h.url, "/blocks", tip_raw)
        check(status == 400 and json.loads(body)["error"] == "prev-blk-not-found", f"no sender named: {status} {body[:200]}")
        status, body = http(h.url, "/blocks", tip_raw, headers={"X-Blocksmith-Peer": a.url})
        check(status == 200 and json.loads(body)["tip"] == hashes[-1], f"the sender's chain fetched first: {status} {body[:300]}")
        check(h.tip()["hash"] == hashes[-1], "h is on a's tip")
        status, body = http(h.url, "/blocks", tip_raw, headers={"X-Blocksmith-Peer": "http://127.0.0.1:9"})
        check(status == 400 and json.loads(body)["error"] == "duplicate", "a known block is a duplicate whoever sends it")
        h.stop()
        nodes.remove(h)

        print("== 2. split two against one, mine both sides, rejoin", flush=True)
        for x, y in ((a, c), (b, c)):
            x.unpeer(y)
            y.unpeer(x)
        check(get(c.url, "/peers") == [], "c has no peers")
        c.generate(3, "c alone")
        a.generate(6, "a and b")
        wait(lambda: b.tip()["hash"] == a.tip()["hash"], "b follows a during the split")
        check(c.tip()["hash"] != a.tip()["hash"], "the sides differ during the split")
        heavier = a.tip()
        check(int(heavier["chainwork"], 16) > int(c.tip()["chainwork"], 16), "a's side has more work")
        for x, y in ((a, c), (b, c)):
            x.peer(y)
            y.peer(x)
        converge(nodes, "all on the heavier side after rejoining")
        check(c.tip()["hash"] == heavier["hash"], "c reorganized to a's chain")
        check("reorganized" in open(c.log_path).read(), "c logged its reorg")
        for n in nodes:
            check_view(n, f"{n.name} after the reorg")

        print("== 3. bad blocks from a peer are refused", flush=True)
        tip = a.tip()
        tip_block = get(a.url, f"/blocks/{tip['hash']}")
        height, t = tip["height"] + 1, tip_block["timestamp"] + 1
        bits = int(tip_block["bits"], 16)
        cases = {
            "high-hash": build(tip["hash"], height, t, bits, b"bad pow", solve=False),
            "bad-diffbits": build(tip["hash"], height, t, 0x2000FFFF, b"easier bits"),
            "prev-blk-not-found": build("11" * 32, height, t, bits, b"orphan"),
            "time-too-old": build(tip["hash"], height, get(a.url, f"/blocks/{get(a.url, '/blockchain.json')[-6]['hash']}")["timestamp"], bits, b"old"),
        }
        good = build(tip["hash"], height, t, bits, b"good")
        bad_merkle = good[:80] + good[80:].replace(b"good", b"evil")
        cases["bad-txnmrklroot"] = bad_merkle
        for reason, block in cases.items():
            status, body = http(a.url, "/blocks", block, headers={"Content-Type": "application/octet-stream"})
            answer = json.loads(body) if body.startswith(b"{") else {}
            check(status == 400 and answer.get("error") == reason, f"{reason}: got {status} {body[:200]}")
            check(a.tip() == tip, f"a keeps its tip after {reason}")
        status, body = http(a.url, "/mined", good.hex().encode())
        check(status == 200 and json.loads(body)["hash"] == block_hash(good), f"POST /mined with a good block in hex: {status} {body[:200]}")
        converge(nodes, "the good block reaches every node")
        status, body = http(a.url, "/blocks", good)
        check(status == 400 and json.loads(body)["error"] == "duplicate", "the same block again is a duplicate")
        for path, data in (("/blocks", b"\x00" * 10), ("/generate", b"{\"blocks\": 100000}"), ("/generate", b"[]"),
                           ("/peers", b"{\"url\": \"ftp://x\"}"), ("/blocks", b"zz" * 100)):
            status, _ = http(a.url, path, data)
            check(status == 400, f"POST {path} {data[:30]!r} is 400, got {status}")
        for path in ("/headers?from=xyz", "/blockchain.json?limit=0", "/blockchain.json?from=-1", "/blocks/abc"):
            check(http(a.url, path)[0] == 400, f"GET {path} is 400")
        check(http(a.url, "/blocks/" + "00" * 32)[0] == 404, "an unknown block is 404")
        # Hostile bodies: random byte changes, truncations, huge counts. Never a 5xx, never down.
        rng = random.Random(9)
        base = build(a.tip()["hash"], a.tip()["height"] + 1, get(a.url, f"/blocks/{a.tip()['hash']}")["timestamp"] + 1, bits, b"fuzz")
        statuses = {}
        for i in range(300):
            body = bytearray(base)
            kind = i % 3
            if kind == 0:
                for _ in range(rng.randint(1, 4)):
                    body[rng.randrange(len(body))] = rng.randrange(256)
            elif kind == 1:
                body = body[:rng.randrange(len(body))]
            else:
                at = rng.randrange(80, len(body))
                body[at:at] = b"\xff" + b"\xff" * 8  # a compactSize of 2^64-1
            status, _ = http(a.url, "/blocks", bytes(body))
            statuses[status] = statuses.get(status, 0) + 1
        check(set(statuses) <= {200, 400}, f"hostile blocks answered {statuses}")
        check(http(a.url, "/tip")[0] == 200, "a is up after 300 hostile blocks")
        check(http(a.url, "/blocks", b"\x00" * (9 * 1024 * 1024))[0] == 413, "a body over the limit is 413")

        print("== 4. a longer chain with less work is refused", flush=True)
        a.generate(42 - a.tip()["height"] if a.tip()["height"] < 42 else 1)
        converge(nodes, "all at 42+")
        heavy = a.tip()
        chain = get(a.url, "/blockchain.json")
        check(chain[-1]["bits"] != chain[1]["bits"], "a's chain retargeted to a harder target")
        genesis_block = chain[0]
        light, prev = [], genesis_block["hash"]
        for i in range(1, heavy["height"] + 4):
            block = build(prev, i, genesis_block["timestamp"] + 30 * i, LIMIT_BITS, b"light %d" % i)
            light.append(block)
            prev = block_hash(block)
        light_work = (len(light) + 1) * (2**256 // (compact_target(LIMIT_BITS) + 1))
        check(len(light) > heavy["height"] and light_work < int(heavy["chainwork"], 16), "the light chain is longer with less work")
        status, body = http(a.url, "/blocks", light[0])
        check(status == 400 and json.loads(body)["error"] == "too-little-chainwork", f"unrequested low-work block: {status} {body[:200]}")
        d = Node(args.binary, work, "d")
        nodes.append(d)
        d.start()
        for block in light:
            status, body = http(d.url, "/blocks", block)
            if status != 200:
                check(False, f"d takes the light chain: {status} {body[:200]}")
                break
        check(d.tip()["height"] == len(light), "d holds the longer, lighter chain")
        a.peer(d)
        wait(lambda: "refused: too-little-chainwork" in open(a.log_path).read() or a.tip() != heavy, "a refuses d's chain")
        check(a.tip() == heavy, "a keeps its heavier chain")
        d.peer(a)
        wait(lambda: d.tip()["hash"] == heavy["hash"], "d takes a's heavier, shorter chain")
        check_view(d, "d after a reorganisation to a shorter chain (no view files above its tip)")
        a.unpeer(d)

        print("== 5. SIGKILL while mining, a torn write, restart", flush=True)
        e = Node(args.binary, work, "e")
        nodes.append(e)
        e.start("--mine")
        wait(lambda: e.tip()["height"] >= 30, "e mines 30 blocks", timeout=120)
        e.process.send_signal(signal.SIGKILL)
        e.process.wait()
        blk = os.path.join(e.dir, "blocks", "blk00000.dat")
        with open(blk, "ab") as f:
            f.write(MAGIC + struct.pack("<I", 300) + b"\x01" * 100)  # a block half written
        e.start()
        check("torn write" in open(e.log_path).read(), "the restart reports the torn write")
        check_view(e, "e after SIGKILL and restart")
        before = e.tip()["height"]
        e.generate(2)
        check(e.tip()["height"] == before + 2, "e mines on after the restart")
        check_view(e, "e after mining again")

        print("== SIGTERM during a long POST /generate: the miners stop, the node exits at once", flush=True)
        f = Node(args.binary, work, "f")
        f.start()
        answers = []
        def generate_long():
            try:
                answers.append(http(f.url, "/generate", {"blocks": 1000})[0])
            except OSError:
                answers.append("closed")
        worker = threading.Thread(target=generate_long)
        worker.start()
        wait(lambda: f.tip()["height"] >= 25, "f is mining")
        began = time.time()
        code = f.stop()
        check(code == 0 and time.time() - began < 10, f"f stopped with {code} after {time.time() - began:.1f} s")
        worker.join(timeout=30)
        check(answers in ([503], ["closed"]), f"the interrupted /generate answered {answers}")

        print("== the command line: chain sync, chain show, one process per folder", flush=True)
        g = Node(args.binary, work, "g")
        out = subprocess.run([args.binary, "chain", "sync", "--dir", g.dir, "--from", a.url], capture_output=True, text=True)
        check(out.returncode == 0 and "synced from" in out.stdout, f"chain sync: {out.stdout} {out.stderr}")
        out = subprocess.run([args.binary, "chain", "show", "--dir", g.dir], capture_output=True, text=True)
        check(out.returncode == 0 and f"tip: height {a.tip()['height']}," in out.stdout, f"chain show after sync: {out.stdout[-300:]} {out.stderr}")
        out = subprocess.run([args.binary, "chain", "show", "--dir", g.dir, "--json"], capture_output=True, text=True)
        check(out.returncode == 0 and json.loads(out.stdout) == get(a.url, "/blockchain.json"), "chain show --json is /blockchain.json")
        out = subprocess.run([args.binary, "chain", "mine", "--dir", a.dir], capture_output=True, text=True)
        check(out.returncode == 2 and "another blocksmith process" in out.stderr, f"chain mine beside a running node: {out.returncode} {out.stderr}")
        out = subprocess.run([args.binary, "chain", "mine", "--dir", g.dir, "--blocks", "2", "--data", "x" * 81], capture_output=True, text=True)
        check(out.returncode == 2 and "80" in out.stderr, f"chain mine --data of 81 bytes: {out.returncode} {out.stderr}")
        out = subprocess.run([args.binary, "chain", "init", "--dir", g.dir], capture_output=True, text=True)
        check(out.returncode == 2 and "already holds a chain" in out.stderr, f"chain init twice: {out.stderr}")
        check(json.load(open(os.path.join(a.dir, "peers.json"))) == get(a.url, "/peers"), "peers.json keeps the peer list")

        print("== 6. verify, show and index read the chain's blk files", flush=True)
        e.stop()
        e.start("--mine")
        for n in nodes:
            code = n.stop()
            check(code == 0, f"{n.name} stops with status 0 on SIGTERM, not {code}")
        files = sorted(glob.glob(os.path.join(a.dir, "blocks", "blk*.dat")))
        out = subprocess.run([args.binary, "verify", *files], capture_output=True, text=True)
        check(out.returncode == 0 and "0 failed" in out.stdout, f"verify: {out.stdout[-300:]} {out.stderr[-300:]}")
        out = subprocess.run([args.binary, "show", files[0], "--block", "1"], capture_output=True, text=True)
        check(out.returncode == 0 and "hello from a" in out.stdout, f"show: {out.stdout[-500:]} {out.stderr[-300:]}")
        db = os.path.join(work, "index.sqlite")
        out = subprocess.run([args.binary, "index", os.path.join(a.dir, "blocks"), "--db", db], capture_output=True, text=True)
        check(out.returncode == 0, f"index: {out.stdout[-300:]} {out.stderr[-300:]}")
        out = subprocess.run([args.binary, "query", "tip", "--db", db, "--json"], capture_output=True, text=True)
        tip_row = json.loads(out.stdout) if out.returncode == 0 else {}
        check(tip_row.get("hash") == heavy["hash"] or tip_row.get("height", -1) >= heavy["height"], f"index tip: {out.stdout[:300]} {out.stderr[:300]}")
    finally:
        if failures and os.environ.get("CHAIN_TEST_PAUSE"):
            print("paused: " + " ".join(f"{n.name}={n.process.pid if n.process else None}" for n in nodes), flush=True)
            time.sleep(int(os.environ["CHAIN_TEST_PAUSE"]))
        for n in nodes:
            try:
                n.stop(signal.SIGKILL)
            except Exception:
                pass
        if failures:
            for n in nodes:
                print(f"--- {n.name} log (end)\n" + open(n.log_path).read()[-3000:])
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} failures")
    print("chain nodes: all checks passed")


if __name__ == "__main__":
    main()
