"""An independent reference for `blocksmith export`: the crypto_bitcoin rows of a chain,
computed from blk files with nothing but the Python standard library, following Bitcoin
Core (Solver, ScriptToAsmStr, ExtractDestinations before 22.0) and bitcoin-etl (coinbase
inputs dropped, `nonstandard` + SHA-256 for outputs without an address).

    rows = reference_rows(blocks)   # blocks: raw block bytes of the best chain, in height order
    for table, row in rows: ...     # row: list of (key, value) pairs in the schema's order
"""
import datetime
import hashlib

OP_NAMES = {0x4f: "-1", 0x50: "OP_RESERVED"}
OP_NAMES.update({0x50 + n: str(n) for n in range(1, 17)})
for code, name in enumerate(
        "NOP VER IF NOTIF VERIF VERNOTIF ELSE ENDIF VERIFY RETURN TOALTSTACK FROMALTSTACK 2DROP 2DUP 3DUP 2OVER 2ROT 2SWAP "
        "IFDUP DEPTH DROP DUP NIP OVER PICK ROLL ROT SWAP TUCK CAT SUBSTR LEFT RIGHT SIZE INVERT AND OR XOR EQUAL EQUALVERIFY "
        "RESERVED1 RESERVED2 1ADD 1SUB 2MUL 2DIV NEGATE ABS NOT 0NOTEQUAL ADD SUB MUL DIV MOD LSHIFT RSHIFT BOOLAND BOOLOR "
        "NUMEQUAL NUMEQUALVERIFY NUMNOTEQUAL LESSTHAN GREATERTHAN LESSTHANOREQUAL GREATERTHANOREQUAL MIN MAX WITHIN RIPEMD160 "
        "SHA1 SHA256 HASH160 HASH256 CODESEPARATOR CHECKSIG CHECKSIGVERIFY CHECKMULTISIG CHECKMULTISIGVERIFY NOP1 "
        "CHECKLOCKTIMEVERIFY CHECKSEQUENCEVERIFY NOP4 NOP5 NOP6 NOP7 NOP8 NOP9 NOP10 CHECKSIGADD".split(), start=0x61):
    OP_NAMES[code] = "OP_" + name
OP_NAMES[0xff] = "OP_INVALIDOPCODE"
SIGHASH = {1: "ALL", 2: "NONE", 3: "SINGLE", 0x81: "ALL|ANYONECANPAY", 0x82: "NONE|ANYONECANPAY", 0x83: "SINGLE|ANYONECANPAY"}


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def hash160(b):
    return hashlib.new("ripemd160", hashlib.sha256(b).digest()).digest()


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(payload):
    data = payload + sha256d(payload)[:4]
    n = int.from_bytes(data, "big")
    text = ""
    while n:
        n, r = divmod(n, 58)
        text = B58[r] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def bech32_address(version, program, hrp="bc"):
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

    def polymod(values):
        chk = 1
        for v in values:
            top = chk >> 25
            chk = (chk & 0x1ffffff) << 5 ^ v
            for i, g in enumerate([0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]):
                chk ^= g if (top >> i) & 1 else 0
        return chk
    acc, bits, data = 0, 0, [version]
    for byte in program:
        acc = acc << 8 | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append(acc >> bits & 31)
    if bits:
        data.append(acc << (5 - bits) & 31)
    const = 1 if version == 0 else 0x2bc830a3
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(expanded + data + [0] * 6) ^ const
    return hrp + "1" + "".join(charset[d] for d in data + [pm >> 5 * (5 - i) & 31 for i in range(6)])


def ops(script):
    """(opcode, data or None) for each instruction; (None, None) for a push past the end."""
    i = 0
    while i < len(script):
        op = script[i]
        i += 1
        if op <= 0x4e:
            size = {0x4c: 1, 0x4d: 2, 0x4e: 4}.get(op)
            if size:
                if i + size > len(script):
                    yield None, None
                    return
                length = int.from_bytes(script[i:i + size], "little")
                i += size
            else:
                length = op
            if i + length > len(script):
                yield None, None
                return
            yield op, script[i:i + length]
            i += length
        else:
            yield op, None


def script_num(data):
    if not data:
        return 0
    n = int.from_bytes(data, "little")
    if data[-1] & 0x80:
        return -(n & ~(0x80 << 8 * (len(data) - 1)))
    return n


def strict_der(sig):
    if not 9 <= len(sig) <= 73 or sig[0] != 0x30 or sig[1] != len(sig) - 3:
        return False
    lr = sig[3]
    if 5 + lr >= len(sig):
        return False
    ls = sig[5 + lr]
    if lr + ls + 7 != len(sig) or sig[2] != 2 or lr == 0 or sig[4] & 0x80:
        return False
    if lr > 1 and sig[4] == 0 and not sig[5] & 0x80:
        return False
    if sig[lr + 4] != 2 or ls == 0 or sig[lr + 6] & 0x80:
        return False
    return not (ls > 1 and sig[lr + 6] == 0 and not sig[lr + 7] & 0x80)


def unspendable(script):
    return (len(script) > 0 and script[0] == 0x6a) or len(script) > 10000


def asm(script, sighash=False):
    words = []
    attempt = sighash and not unspendable(script)
    for op, data in ops(script):
        if op is None:
            words.append("[error]")
            break
        if data is None:
            words.append(OP_NAMES.get(op, "OP_UNKNOWN"))
        elif len(data) <= 4:
            words.append(str(script_num(data)))
        elif attempt and strict_der(data) and data[-1] in SIGHASH:
            words.append(data[:-1].hex() + "[" + SIGHASH[data[-1]] + "]")
        else:
            words.append(data.hex())
    return " ".join(words)


def valid_key(k):
    return len(k) > 0 and ((k[0] in (2, 3) and len(k) == 33) or (k[0] in (4, 6, 7) and len(k) == 65))


def multisig_number(op, data, low):
    if op is not None and 0x51 <= op <= 0x60:
        n = op - 0x50
    elif data is not None and op == 1 and len(data) == 1 and 16 < data[0] < 0x80:
        n = data[0]
    else:
        return None
    return n if low <= n <= 20 else None


def classify(s):
    """(type, required signatures, addresses) as Core's Solver and ExtractDestinations (before 22.0)."""
    n = len(s)
    if n == 23 and s[0] == 0xa9 and s[1] == 20 and s[22] == 0x87:
        return "scripthash", 1, [base58check(b"\x05" + s[2:22])]
    if 4 <= n <= 42 and (s[0] == 0 or 0x51 <= s[0] <= 0x60) and s[1] + 2 == n:
        version = 0 if s[0] == 0 else s[0] - 0x50
        program = s[2:]
        if version == 0 and len(program) not in (20, 32):
            return "nonstandard", None, []
        kind = {(0, 20): "witness_v0_keyhash", (0, 32): "witness_v0_scripthash", (1, 32): "witness_v1_taproot"}.get(
            (version, len(program)), "anchor" if (version, program) == (1, b"\x4e\x73") else "witness_unknown")
        return kind, 1, [bech32_address(version, program)]
    if n >= 1 and s[0] == 0x6a and all(op is not None and op <= 0x60 for op, _ in ops(s[1:])):
        return "nulldata", None, []
    if n in (35, 67) and s[0] == n - 2 and s[-1] == 0xac and valid_key(s[1:-1]):
        return "pubkey", 1, [base58check(b"\x00" + hash160(s[1:-1]))]
    if n == 25 and s[:3] == b"\x76\xa9\x14" and s[23:] == b"\x88\xac":
        return "pubkeyhash", 1, [base58check(b"\x00" + s[3:23])]
    if n >= 1 and s[-1] == 0xae:
        instructions = list(ops(s))
        if instructions and instructions[0][0] is not None:
            m = multisig_number(*instructions[0], 1)
            keys, i = [], 1
            while m and i < len(instructions) and instructions[i][1] is not None and valid_key(instructions[i][1]):
                keys.append(instructions[i][1])
                i += 1
            if m and i < len(instructions) and instructions[i][0] is not None:
                count = multisig_number(*instructions[i], m)
                if count == len(keys) and instructions[i + 1:] == [(0xae, None)]:
                    return "multisig", m, [base58check(b"\x00" + hash160(k)) for k in keys]
    return "nonstandard", None, []


def destination(script):
    """bitcoin-etl's fields: no address -> type nonstandard, address nonstandard + sha256[:40]."""
    kind, required, addresses = classify(script)
    if not addresses:
        return "nonstandard", None, ["nonstandard" + hashlib.sha256(script).hexdigest()[:40]]
    return kind, required, addresses


class Reader:
    def __init__(self, data):
        self.data, self.i = data, 0

    def take(self, n):
        if self.i + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.i:self.i + n]
        self.i += n
        return out

    def u(self, n):
        return int.from_bytes(self.take(n), "little")

    def varint(self):
        first = self.u(1)
        return first if first < 0xfd else self.u({0xfd: 2, 0xfe: 4, 0xff: 8}[first])


def decode_transaction(r):
    start = r.i
    version = r.u(4)
    count = r.varint()
    segwit = False
    if count == 0:
        flag = r.u(1)
        segwit = flag != 0
        count = r.varint() if segwit else 0
    body_start = r.i
    inputs = []
    for _ in range(count):
        prev = r.take(32)
        vout = r.u(4)
        script = r.take(r.varint())
        inputs.append((prev[::-1].hex(), vout, script, r.u(4)))
    outputs = []
    for _ in range(r.varint()):
        value = r.u(8)
        outputs.append((value, r.take(r.varint())))
    body_end = r.i
    if segwit:
        for _ in inputs:
            for _ in range(r.varint()):
                r.take(r.varint())
    lock_time = r.u(4)
    raw = r.data[start:r.i]
    stripped = r.data[start:start + 4] + r.data[body_start:body_end] + r.data[r.i - 4:r.i] if segwit else raw
    return {"txid": sha256d(stripped)[::-1].hex(), "size": len(raw), "stripped": len(stripped), "version": version,
            "lock_time": lock_time, "inputs": inputs, "outputs": outputs}


def signed32(v):
    return v - (1 << 32) if v >= 1 << 31 else v


def times(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ"), d.strftime("%Y-%m-01")


def reference_rows(blocks, first_height=0):
    """Yields ("blocks" | "transactions", [(key, value), ...]) for the blocks, in order."""
    utxo = {}
    for height, raw in enumerate(blocks, start=first_height):
        r = Reader(raw)
        header = r.take(80)
        block_hash = sha256d(header)[::-1].hex()
        version, time, bits, nonce = (int.from_bytes(header[0:4], "little"), int.from_bytes(header[68:72], "little"),
                                      int.from_bytes(header[72:76], "little"), int.from_bytes(header[76:80], "little"))
        txs = [decode_transaction(r) for _ in range(r.varint())]
        assert r.i == len(raw), "trailing bytes"
        stamp, month = times(time)
        stripped = 80 + len(raw[80:r.i]) - sum(t["size"] - t["stripped"] for t in txs)
        coinbase = txs[0]["inputs"][0][2].hex()
        yield "blocks", [("hash", block_hash), ("size", len(raw)), ("stripped_size", stripped), ("weight", 3 * stripped + len(raw)),
                         ("number", height), ("version", signed32(version)), ("merkle_root", header[36:68][::-1].hex()),
                         ("timestamp", stamp), ("timestamp_month", month), ("nonce", format(nonce, "x")), ("bits", "%08x" % bits),
                         ("coinbase_param", coinbase), ("transaction_count", len(txs))]
        for position, t in enumerate(txs):
            is_coinbase = position == 0
            inputs = []
            for n, (prev, vout, script, sequence) in enumerate([] if is_coinbase else t["inputs"]):
                value, spent = utxo.pop((prev, vout))
                kind, required, addresses = destination(spent)
                inputs.append([("index", n), ("spent_transaction_hash", prev), ("spent_output_index", vout),
                               ("script_asm", asm(script, sighash=True)), ("script_hex", script.hex()), ("sequence", sequence),
                               ("required_signatures", required), ("type", kind), ("addresses", addresses), ("value", value)])
            outputs = []
            for n, (value, script) in enumerate(t["outputs"]):
                kind, required, addresses = destination(script)
                outputs.append([("index", n), ("script_asm", asm(script)), ("script_hex", script.hex()),
                                ("required_signatures", required), ("type", kind), ("addresses", addresses), ("value", value)])
                if not unspendable(script):
                    utxo[(t["txid"], n)] = (value, script)
            input_value = sum(dict(i)["value"] for i in inputs)
            output_value = sum(v for v, _ in t["outputs"])
            weight = 3 * t["stripped"] + t["size"]
            yield "transactions", [
                ("hash", t["txid"]), ("size", t["size"]), ("virtual_size", (weight + 3) // 4), ("version", signed32(t["version"])),
                ("lock_time", t["lock_time"]), ("block_hash", block_hash), ("block_number", height), ("block_timestamp", stamp),
                ("block_timestamp_month", month), ("input_count", len(inputs)), ("output_count", len(outputs)),
                ("input_value", input_value), ("output_value", output_value), ("is_coinbase", is_coinbase),
                ("fee", 0 if is_coinbase else input_value - output_value), ("inputs", inputs), ("outputs", outputs)]


def frames(data):
    """The blocks of a blk file's bytes (magic, size, block; stops at zero padding)."""
    i = 0
    while i + 8 <= len(data) and data[i:i + 4] != b"\0\0\0\0":
        size = int.from_bytes(data[i + 4:i + 8], "little")
        yield data[i + 8:i + 8 + size]
        i += 8 + size
