#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
package import BitcoinWire
package import BitcoinScript
import Crypto

/// Rows of Google BigQuery's public `crypto_bitcoin` dataset, as newline-delimited JSON in
/// the schema of blockchain-etl's enrich stage (`schemas/crypto_bitcoin/*.json` in this
/// repository): a `blocks` row per block and a `transactions` row per transaction, with
/// nested `inputs` and `outputs`.
///
/// What the dataset does, this does: amounts in satoshis; hashes in display order;
/// timestamps `YYYY-MM-DDTHH:MM:SSZ` and months `YYYY-MM-01` (UTC); `nonce` in hex without
/// leading zeros and `bits` in eight hex digits; a coinbase has no inputs (its script is the
/// block's `coinbase_param`), `input_count` 0, `input_value` 0 and `fee` 0; an output's
/// `type`, `required_signatures` and `addresses` are Bitcoin Core's before 22.0 (a P2PK
/// output pays its key's P2PKH address, bare multisig each key's), and an output with no
/// address (OP_RETURN, non-standard) has type `nonstandard` and the address `nonstandard`
/// followed by the first 40 hex digits of its script's SHA-256 (bitcoin-etl's rule).
///
/// An input's `required_signatures`, `type`, `addresses` and `value` are those of the output
/// it spends, which an earlier block may hold: `CryptoBitcoinRenderer` writes everything
/// else (in parallel, block by block), and the caller, reading blocks in chain order, adds
/// those fields (`writeSpent`) where `RenderedBlocks` marks their place.
package enum CryptoBitcoin {
    /// The tables, in the order their files are listed.
    package enum Table: String, CaseIterable, Sendable, Comparable {
        case blocks, transactions
        package static func < (a: Table, b: Table) -> Bool { a.order < b.order }
        var order: Int { Table.allCases.firstIndex(of: self)! }
    }
}

/// Blocks rendered but for what their inputs spend: the bytes of every row and where the
/// missing fields go.
///
/// A transaction row is `head`, then the totals and inputs the caller writes (`input_value`,
/// `output_value`, `is_coinbase`, `fee`, and `"inputs":[…]`, each input its `prefix` then
/// the spent output's fields), then `tail` (`,"outputs":[…]}` and the newline).
package struct RenderedBlocks: Sendable {
    package struct BlockPiece: Sendable {
        package let height: Int64
        package let hash: BlockHash
        /// The `blocks` row, newline included.
        package let row: Range<Int>
        /// Its transactions, in `transactions`.
        package let transactions: Range<Int>
    }

    package struct TransactionPiece: Sendable {
        package let txid: TxID
        package let isCoinbase: Bool
        package let head: Range<Int>
        package let tail: Range<Int>
        /// Its inputs in `inputs` (none for a coinbase) and outputs in `outputs`.
        package let inputs: Range<Int>
        package let outputs: Range<Int>
        package let outputValue: Int64
    }

    package struct InputPiece: Sendable {
        package let outpoint: OutPoint
        /// `{"index":…,…,"sequence":…,` up to the spent output's fields.
        package let prefix: Range<Int>
    }

    package struct OutputPiece: Sendable {
        package let value: Int64
        /// Whether a later input can spend it (not OP_RETURN or oversized).
        package let spendable: Bool
        /// Its `required_signatures`, `type` and `addresses` fields and `"value":`, as an
        /// input spending it repeats them before the value (`"required_signatures":1,…,"value":`).
        /// Shared, not copied: outputs paying the same script share one array.
        package let fields: [UInt8]
    }

    package var bytes: OutputBuffer
    package var blocks = [BlockPiece]()
    package var transactions = [TransactionPiece]()
    package var inputs = [InputPiece]()
    package var outputs = [OutputPiece]()

    /// Starts with `bytes` (emptied): buffers can go round instead of being allocated each time.
    package init(reusing bytes: OutputBuffer) {
        self.bytes = bytes
        self.bytes.removeAll()
    }

    /// The bytes in `range`.
    package func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { bytes.slice(range) }
}

/// Writes `crypto_bitcoin` rows (see `CryptoBitcoin`).
package struct CryptoBitcoinRenderer {
    let network: ChainParameters
    var scratch = [UInt8]()
    /// The fields before the value, by output script (`writeSpentFields`).
    var memo = [ScriptKey: [UInt8]]()
    package var memoLimit = 1 << 16
    /// The transaction being rendered, as the walk reports it (reused).
    var fields = Fields()
    var time = (timestamp: [UInt8](), month: [UInt8]())

    /// A transaction's fields as `TransactionReader` walks them: ranges into the block's bytes.
    struct Fields: TransactionVisitor {
        var version: UInt32 = 0, lockTime: UInt32 = 0
        var inputs = [(outpoint: OutPoint, script: Range<Int>, sequence: UInt32)]()
        var outputs = [(value: Int64, script: Range<Int>)]()

        mutating func version(_ version: UInt32) { self.version = version }
        mutating func input(_ previousOutput: OutPoint, scriptSig: Range<Int>, sequence: UInt32) {
            inputs.append((previousOutput, scriptSig, sequence))
        }
        mutating func output(value: Int64, scriptPubKey: Range<Int>) { outputs.append((value, scriptPubKey)) }
        mutating func lockTime(_ lockTime: UInt32) { self.lockTime = lockTime }
    }

    package init(network: ChainParameters) {
        self.network = network
        scratch.reserveCapacity(1 << 12)
    }

    /// Renders the block in `bytes` (a whole block, as in a blk file) at `height` into
    /// `rendered`, straight from the bytes: nothing is decoded into values.
    /// - Returns: the block's hash and whether its merkle root matches its transactions, for
    ///   the caller to check it is the block it meant to read.
    /// - Throws: `DecodeError` when the bytes are not a block.
    package mutating func render(block bytes: [UInt8], height: Int64, into rendered: inout RenderedBlocks) throws(DecodeError)
        -> (hash: BlockHash, merkleRootMatches: Bool) {
        var out = rendered.bytes
        rendered.bytes = OutputBuffer(capacity: 0)
        defer { rendered.bytes = out }
        let result: Result<(BlockHash, Bool), DecodeError> = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in try render(bytes, raw, height: height, into: &rendered, out: &out) }
        }
        return try result.get()
    }

    private mutating func render(_ storage: [UInt8], _ raw: UnsafeRawBufferPointer, height: Int64, into rendered: inout RenderedBlocks,
                                 out: inout OutputBuffer) throws(DecodeError) -> (BlockHash, Bool) {
        var reader = try TransactionReader(raw)
        let header = reader.header
        let hash = SHA256d.hash(UnsafeRawBufferPointer(rebasing: raw[0..<80]))
        // The block's time, written once: each of its transactions repeats it.
        CryptoBitcoinRenderer.civilTime(header.time, timestamp: &time.timestamp, month: &time.month)
        var txids = [TxID]()
        txids.reserveCapacity(reader.reservableCount)
        var strippedSize = 80 + CompactSize.size(of: Int(clamping: reader.count))
        var coinbaseScript: Range<Int>?
        let firstTransaction = rendered.transactions.count
        while reader.hasNext {
            fields.inputs.removeAll(keepingCapacity: true)
            fields.outputs.removeAll(keepingCapacity: true)
            let extent = try reader.next(visitor: &fields)
            let txid = extent.txid(in: raw)
            txids.append(txid)
            let size = extent.bytes.count
            // Without witnesses: version, the inputs and outputs, lock time (BIP141).
            let stripped = extent.hasWitness ? 8 + extent.body.count : size
            strippedSize += stripped
            let isCoinbase = txids.count == 1 && fields.inputs.count == 1 && fields.inputs[0].outpoint.isNull
            if isCoinbase { coinbaseScript = fields.inputs[0].script }

            let headStart = out.count
            out.reserve(400)
            out.unsafeAppend("{\"hash\":\"")
            out.unsafeAppend(displayHex: txid)
            out.unsafeAppend("\",\"size\":")
            out.unsafeAppend(decimal: UInt64(size))
            out.unsafeAppend(",\"virtual_size\":")
            out.unsafeAppend(decimal: UInt64((3 * stripped + size + 3) / 4))
            out.unsafeAppend(",\"version\":")
            out.append(decimal: Int64(Int32(bitPattern: fields.version)))
            out.reserve(200)
            out.unsafeAppend(",\"lock_time\":")
            out.unsafeAppend(decimal: UInt64(fields.lockTime))
            out.unsafeAppend(",\"block_hash\":\"")
            out.unsafeAppend(displayHex: hash)
            out.unsafeAppend("\",\"block_number\":")
            out.unsafeAppend(decimal: UInt64(height))
            out.unsafeAppend(",\"block_timestamp\":\"")
            out.appendBytes(time.timestamp)
            out.append("\",\"block_timestamp_month\":\"")
            out.appendBytes(time.month)
            out.append("\",\"input_count\":")
            out.append(decimal: UInt64(isCoinbase ? 0 : fields.inputs.count))
            out.append(",\"output_count\":")
            out.append(decimal: UInt64(fields.outputs.count))
            out.append(",")
            let head = headStart..<out.count

            let firstInput = rendered.inputs.count
            if !isCoinbase {
                for (n, input) in fields.inputs.enumerated() {
                    let start = out.count
                    out.reserve(160)
                    out.unsafeAppend("{\"index\":")
                    out.unsafeAppend(decimal: UInt64(n))
                    out.unsafeAppend(",\"spent_transaction_hash\":\"")
                    out.unsafeAppend(displayHex: input.outpoint.txid)
                    out.unsafeAppend("\",\"spent_output_index\":")
                    out.unsafeAppend(decimal: UInt64(input.outpoint.index))
                    out.unsafeAppend(",\"script_asm\":\"")
                    let script = storage[input.script]
                    scratch.removeAll(keepingCapacity: true)
                    Script(script).writeASM(into: &scratch, decodingSighash: true)
                    out.appendBytes(scratch)
                    out.append("\",\"script_hex\":\"")
                    out.appendHex(UnsafeRawBufferPointer(rebasing: raw[input.script]))
                    out.append("\",\"sequence\":")
                    out.append(decimal: UInt64(input.sequence))
                    out.append(",")
                    rendered.inputs.append(.init(outpoint: input.outpoint, prefix: start..<out.count))
                }
            }

            let tailStart = out.count
            let firstOutput = rendered.outputs.count
            var outputValue: Int64 = 0
            out.append(",\"outputs\":[")
            for (n, output) in fields.outputs.enumerated() {
                if n > 0 { out.append(",") }
                out.append("{\"index\":")
                out.append(decimal: UInt64(n))
                out.append(",\"script_asm\":\"")
                let script = Script(storage[output.script])
                scratch.removeAll(keepingCapacity: true)
                script.writeASM(into: &scratch)
                out.appendBytes(scratch)
                out.append("\",\"script_hex\":\"")
                out.appendHex(UnsafeRawBufferPointer(rebasing: raw[output.script]))
                out.append("\",")
                let destination = destinationFields(script)
                out.appendBytes(destination)
                out.append(decimal: output.value)
                rendered.outputs.append(.init(value: output.value, spendable: !script.isUnspendable, fields: destination))
                out.append("}")
                // Values are checked (each and their sum within 21 million BTC) before a block
                // is indexed; a sum that wraps here means the bytes are not that block.
                outputValue = outputValue.addingReportingOverflow(output.value).partialValue
            }
            out.append("]}\n")
            rendered.transactions.append(.init(
                txid: txid, isCoinbase: isCoinbase, head: head, tail: tailStart..<out.count,
                inputs: firstInput..<rendered.inputs.count, outputs: firstOutput..<rendered.outputs.count, outputValue: outputValue))
        }
        try reader.finish()

        let rowStart = out.count
        out.reserve(512)
        out.unsafeAppend("{\"hash\":\"")
        out.unsafeAppend(displayHex: hash)
        out.unsafeAppend("\",\"size\":")
        out.unsafeAppend(decimal: UInt64(raw.count))
        out.unsafeAppend(",\"stripped_size\":")
        out.unsafeAppend(decimal: UInt64(strippedSize))
        out.unsafeAppend(",\"weight\":")
        out.unsafeAppend(decimal: UInt64(3 * strippedSize + raw.count))
        out.unsafeAppend(",\"number\":")
        out.unsafeAppend(decimal: UInt64(height))
        out.unsafeAppend(",\"version\":")
        out.append(decimal: Int64(header.version))
        out.append(",\"merkle_root\":\"")
        out.reserve(64)
        out.unsafeAppend(displayHex: header.merkleRoot)
        out.append("\",\"timestamp\":\"")
        out.appendBytes(time.timestamp)
        out.append("\",\"timestamp_month\":\"")
        out.appendBytes(time.month)
        out.append("\",\"nonce\":\"")
        out.append(String(header.nonce, radix: 16))
        out.append("\",\"bits\":\"")
        out.append(Hex.encode(header.bits))
        out.append("\",\"coinbase_param\":")
        if let coinbaseScript {
            out.append("\"")
            out.appendHex(UnsafeRawBufferPointer(rebasing: raw[coinbaseScript]))
            out.append("\"")
        } else {
            out.append("null")
        }
        out.append(",\"transaction_count\":")
        out.append(decimal: UInt64(txids.count))
        out.append("}\n")
        rendered.blocks.append(.init(height: height, hash: hash, row: rowStart..<out.count,
                                     transactions: firstTransaction..<rendered.transactions.count))
        return (hash, Merkle.root(txids)?.root == header.merkleRoot)
    }

    /// Writes an output's `required_signatures`, `type`, `addresses` and `value` fields (an
    /// input spending it repeats them).
    package mutating func writeSpentFields(_ script: Script, value: Int64, into out: inout OutputBuffer) {
        out.appendBytes(destinationFields(script))
        out.append(decimal: value)
    }

    /// An output's fields before its value (`"required_signatures":…,"type":…,"addresses":[…],"value":`).
    ///
    /// Addresses are paid again and again (change, exchanges, pools), so these are remembered
    /// by script, up to `memoLimit` scripts: encoding an address costs hashes and a base
    /// conversion, looking one up a hash of the script.
    package mutating func destinationFields(_ script: Script) -> [UInt8] {
        if let known = memo[ScriptKey(bytes: script.bytes)] { return known }
        var out = OutputBuffer(capacity: 128)
        writeDestinationFields(script, into: &out)
        let fields = Array(out.bytes)
        if memo.count >= memoLimit { memo.removeAll(keepingCapacity: true) }
        // The key gets storage of its own: a slice of the block would keep the whole block.
        memo[ScriptKey(bytes: ArraySlice(Array(script.bytes)))] = fields
        return fields
    }

    /// The fields before the value: `"required_signatures":…,"type":…,"addresses":[…],"value":`.
    func writeDestinationFields(_ script: Script, into out: inout OutputBuffer) {
        let pattern = script.pattern
        if let (required, addresses) = pattern.destinations(on: network) {
            out.append("\"required_signatures\":")
            out.append(decimal: UInt64(required))
            out.append(",\"type\":\"")
            out.append(pattern.type.rawValue)
            out.append("\",\"addresses\":[")
            for (i, address) in addresses.enumerated() {
                out.append(i == 0 ? "\"" : ",\"")
                out.append(address)
                out.append("\"")
            }
        } else {
            // bitcoin-etl's rule for an output that pays no address.
            out.append("\"required_signatures\":null,\"type\":\"nonstandard\",\"addresses\":[\"nonstandard")
            let digest = script.bytes.withUnsafeBytes { Array(SHA256.hash(data: $0).prefix(20)) }
            digest.withUnsafeBytes { out.appendHex($0) }
            out.append("\"")
        }
        out.append("],\"value\":")
    }

    /// The fields of an input whose spent output is unknown (outside an index that does not
    /// start at a genesis block).
    package static let unknownSpentFields: StaticString = "\"required_signatures\":null,\"type\":null,\"addresses\":[],\"value\":null"

    /// `YYYY-MM-DDTHH:MM:SSZ` and `YYYY-MM-01` of a Unix time (UTC; the civil date is
    /// `UTCTime.components`, the one `parse` and `show` use).
    package static func civilTime(_ time: UInt32, timestamp: inout [UInt8], month: inout [UInt8]) {
        let (year, monthNumber, day, hour, minute, second) = UTCTime.components(time)
        func two(_ value: Int, _ separator: UInt8, into out: inout [UInt8]) {
            out.append(UInt8(48 + value / 10))
            out.append(UInt8(48 + value % 10))
            out.append(separator)
        }
        month.removeAll(keepingCapacity: true)
        month.append(UInt8(48 + year / 1000))
        month.append(UInt8(48 + year / 100 % 10))
        two(year % 100, UInt8(ascii: "-"), into: &month)
        two(monthNumber, UInt8(ascii: "-"), into: &month)
        month.append(contentsOf: "01".utf8)
        timestamp.removeAll(keepingCapacity: true)
        timestamp.append(contentsOf: month.prefix(8))
        two(day, UInt8(ascii: "T"), into: &timestamp)
        two(hour, UInt8(ascii: ":"), into: &timestamp)
        two(minute, UInt8(ascii: ":"), into: &timestamp)
        two(second, UInt8(ascii: "Z"), into: &timestamp)
    }
}

/// A script as a dictionary key, hashed in one pass over its bytes.
struct ScriptKey: Hashable {
    let bytes: ArraySlice<UInt8>

    /// The length and three words (start, middle, end): enough to tell scripts apart for a
    /// table (equality compares every byte), at a fraction of hashing them all.
    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { raw in
            hasher.combine(raw.count)
            guard raw.count >= 8 else { return hasher.combine(bytes: raw) }
            hasher.combine(raw.loadUnaligned(as: UInt64.self))
            hasher.combine(raw.loadUnaligned(fromByteOffset: (raw.count - 8) / 2, as: UInt64.self))
            hasher.combine(raw.loadUnaligned(fromByteOffset: raw.count - 8, as: UInt64.self))
        }
    }

    static func == (a: ScriptKey, b: ScriptKey) -> Bool {
        a.bytes.count == b.bytes.count && a.bytes.withUnsafeBytes { x in
            b.bytes.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
    }
}

extension OutputBuffer {
    /// The bytes written at `range`; valid until the next write.
    package func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.base + range.lowerBound, count: range.count)
    }

    package mutating func appendBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends `bytes` as lowercase hex.
    package mutating func appendHex(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { appendHex($0) }
    }

    package mutating func appendHex(_ bytes: UnsafeRawBufferPointer) {
        reserve(2 * bytes.count)
        unsafeAppend(hex: bytes)
    }
}
