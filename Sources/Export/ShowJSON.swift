import BitcoinWire
import BitcoinScript

/// `show --format json`: one JSON object per block, one per line (JSON Lines), with the same
/// content as the text form. Amounts are integers in satoshis; hashes display-order hex.
public enum ShowJSON {
    /// Appends block `d` (or only its transaction `only`) as one line of JSON.
    public static func write(_ d: BlockDetails, only: Int? = nil, to out: inout OutputBuffer) {
        let h = d.block.header
        let target = h.target
        var o = JSONObject(out: out)
        o.number("index", d.frame.index)
        o.number("file_offset", d.frame.offset)
        o.string("network", d.network.name)
        o.string("magic", magicHex(d.network.magic))
        o.string("hash", d.hash.displayHex)
        o.optionalNumber("height", d.height)
        let stripped = d.block.strippedSize, weight = stripped * 3 + d.frame.payload.count
        o.number("size", d.frame.payload.count)
        o.number("stripped_size", stripped)
        o.number("weight", weight)
        o.number("vsize", (weight + 3) / 4)
        o.number("version", Int(h.version))
        o.string("version_hex", Hex.encode(UInt32(bitPattern: h.version)))
        o.string("previous_hash", h.previousBlockHash.displayHex)
        o.string("merkle_root", h.merkleRoot.displayHex)
        o.bool("merkle_root_valid", Merkle.root(d.block.transactions.map(\.txid))?.root == h.merkleRoot)
        o.number("time", Int(h.time))
        o.string("time_utc", UTCTime.string(h.time))
        o.string("bits", Hex.encode(h.bits))
        if target.isValid { o.string("target", target.target.hex) } else { o.raw("target", "null") }
        o.raw("difficulty", target.difficulty.map { "\($0)" } ?? "null")
        o.string("work", target.work.hex)
        o.number("nonce", Int(h.nonce))
        o.bool("proof_of_work_valid", h.hasValidProofOfWork(hash: d.hash, limit: d.network.powLimit))
        if let commitment = d.block.witnessCommitment {
            o.string("witness_commitment", commitment.displayHex)
            o.bool("witness_commitment_valid", d.block.witnessCommitmentIsValid == true)
        }
        o.string("coinbase_text", d.block.coinbaseText)
        o.number("tx_count", d.block.transactions.count)
        o.key("transactions")
        o.out.append("[")
        var first = true
        for (i, tx) in d.block.transactions.enumerated() where only == nil || only == i {
            if !first { o.out.append(",") }
            first = false
            write(tx, index: i, in: d, to: &o.out)
        }
        o.out.append("]")
        o.close()
        out = o.out
        out.append("\n")
    }

    static func write(_ tx: Transaction, index: Int, in d: BlockDetails, to out: inout OutputBuffer) {
        var scratch = [UInt8]()
        var o = JSONObject(out: out)
        o.number("index", index)
        o.string("txid", tx.txid.displayHex)
        o.string("wtxid", tx.wtxid.displayHex)
        o.number("file_offset", d.transactionOffsets[index])
        o.number("version", Int(tx.version))
        o.number("lock_time", Int(tx.lockTime))
        let size = tx.size(), stripped = tx.hasWitness ? tx.size(witness: false) : size
        let weight = stripped * 3 + size
        o.number("size", size)
        o.number("stripped_size", stripped)
        o.number("weight", weight)
        o.number("vsize", (weight + 3) / 4)
        o.bool("coinbase", tx.isCoinbase)
        o.optionalNumber("fee", d.fee(index))
        o.key("inputs")
        o.out.append("[")
        for (n, input) in tx.inputs.enumerated() {
            if n > 0 { o.out.append(",") }
            var i = JSONObject(out: o.out)
            i.string("txid", input.previousOutput.txid.displayHex)
            i.number("vout", Int(input.previousOutput.index))
            i.hex("script_sig", input.scriptSig)
            scratch.removeAll(keepingCapacity: true)
            if !tx.isCoinbase { Script(input.scriptSig).writeASM(into: &scratch, decodingSighash: true) }
            i.ascii("script_sig_asm", scratch)
            i.number("sequence", Int(input.sequence))
            i.hexArray("witness", input.witness)
            i.optionalNumber("value", d.inputValues[index][n])
            i.close()
            o.out = i.out
        }
        o.out.append("],")
        o.first = true
        o.key("outputs")
        o.out.append("[")
        for (n, output) in tx.outputs.enumerated() {
            if n > 0 { o.out.append(",") }
            let pattern = Script(output.scriptPubKey).pattern
            let address = pattern.address(on: d.network)
            var j = JSONObject(out: o.out)
            j.number("n", n)
            j.number("value", Int(output.value))
            j.raw("value_btc", btc(output.value))
            j.string("type", pattern.type.rawValue)
            if let address { j.string("address", address.text) } else { j.raw("address", "null") }
            j.bool("address_derived", address?.isDerived ?? false)
            j.hex("script_pubkey", output.scriptPubKey)
            scratch.removeAll(keepingCapacity: true)
            Script(output.scriptPubKey).writeASM(into: &scratch)
            j.ascii("script_pubkey_asm", scratch)
            j.close()
            o.out = j.out
        }
        o.out.append("]")
        o.close()
        out = o.out
    }
}

/// Writes one JSON object's members, handling commas and string escapes.
package struct JSONObject {
    package var out: OutputBuffer
    var first = true

    package init(out: OutputBuffer) {
        self.out = out
        self.out.append("{")
    }

    package mutating func key(_ name: StaticString) {
        out.reserve(name.utf8CodeUnitCount + 4)
        if !first { out.unsafeAppend(byte: UInt8(ascii: ",")) }
        first = false
        out.unsafeAppend(byte: UInt8(ascii: "\""))
        out.unsafeAppend(name)
        out.unsafeAppend("\":")
    }

    package mutating func hex(_ name: StaticString, _ bytes: ArraySlice<UInt8>) { key(name); out.append(jsonHex: bytes) }

    /// An array of hex strings (a witness stack).
    package mutating func hexArray(_ name: StaticString, _ items: [ArraySlice<UInt8>]) {
        key(name)
        out.append("[")
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(",") }
            out.append(jsonHex: item)
        }
        out.append("]")
    }

    /// A string member whose bytes need no escaping (ASM, hex).
    package mutating func ascii(_ name: StaticString, _ bytes: [UInt8]) {
        key(name)
        out.append("\"")
        bytes.withUnsafeBytes { out.append($0) }
        out.append("\"")
    }

    package mutating func raw(_ name: StaticString, _ value: String) { key(name); out.append(value) }
    package mutating func number(_ name: StaticString, _ value: Int) { key(name); out.append(decimal: Int64(value)) }
    package mutating func optionalNumber(_ name: StaticString, _ value: Int64?) {
        key(name)
        if let value { out.append(decimal: value) } else { out.append("null") }
    }
    package mutating func bool(_ name: StaticString, _ value: Bool) { raw(name, value ? "true" : "false") }
    package mutating func string(_ name: StaticString, _ value: String) { key(name); out.append(jsonString: value) }
    package mutating func optionalString(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { out.append(jsonString: value) } else { out.append("null") }
    }
    package mutating func close() { out.append("}") }
}

extension OutputBuffer {
    /// Appends `text` as a JSON string: quotes, backslashes and control characters escaped,
    /// everything else (valid UTF-8) copied as it is, a run at a time.
    public mutating func append(jsonString text: String) {
        var text = text
        text.withUTF8 { utf8 in
            reserve(utf8.count + 2)
            unsafeAppend(byte: UInt8(ascii: "\""))
            var start = 0
            for (i, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[start..<i]))
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0a: append("\\n")
                case 0x0d: append("\\r")
                case 0x09: append("\\t")
                default:
                    append("\\u00")
                    reserve(2)
                    withUnsafeBytes(of: byte) { unsafeAppend(hex: $0) }
                }
                start = i + 1
            }
            append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[start...]))
            append("\"")
        }
    }

    /// Appends `bytes` as a quoted hex JSON string.
    public mutating func append(jsonHex bytes: ArraySlice<UInt8>) {
        reserve(2 * bytes.count + 2)
        unsafeAppend(byte: UInt8(ascii: "\""))
        bytes.withUnsafeBytes { unsafeAppend(hex: $0) }
        unsafeAppend(byte: UInt8(ascii: "\""))
    }
}
