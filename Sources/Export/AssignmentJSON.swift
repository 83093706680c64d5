import BitcoinWire
public import Validation

/// The assignment's JSON document: `{"blocks":[...],"height":X}`, one block object per
/// line, written block by block so no document is ever held whole.
///
/// Field names and order follow the assignment; `hash` (block), `txid` (transaction) and
/// `utxo_hash` (the spec's other name for `txn_hash`) are added. Hashes are display-order hex,
/// scripts hex in file order, `timestamp_readable` UTC.
public enum AssignmentJSON {
    /// Everything before the first block.
    public static let prefix: StaticString = "{\"blocks\":[\n"

    /// Everything after the last block, for a file of `blockCount` blocks.
    public static func suffix(blockCount: Int) -> String {
        "\n],\"height\":\(blockCount)}\n"
    }

    /// Appends one block object, read from the block's `bytes` after it passed its checks;
    /// every block but the file's first is preceded by ",\n".
    public static func write(_ checked: AssignmentBlock, bytes: UnsafeRawBufferPointer, to out: inout OutputBuffer) {
        let header = checked.header
        out.reserve(512)
        if checked.frame.index > 0 { out.unsafeAppend(",\n") }
        out.unsafeAppend("{\"height\":")
        out.unsafeAppend(decimal: UInt64(checked.frame.index))
        out.unsafeAppend(",\"file_position\":")
        out.unsafeAppend(decimal: UInt64(checked.frame.offset))
        out.unsafeAppend(",\"hash\":\"")
        out.unsafeAppend(displayHex: checked.hash)
        out.unsafeAppend("\",\"version\":")
        out.unsafeAppend(decimal: UInt64(UInt32(bitPattern: header.version)))
        out.unsafeAppend(",\"previous_hash\":\"")
        out.unsafeAppend(displayHex: header.previousBlockHash)
        out.unsafeAppend("\",\"merkle_hash\":\"")
        out.unsafeAppend(displayHex: header.merkleRoot)
        out.unsafeAppend("\",\"timestamp\":")
        out.unsafeAppend(decimal: UInt64(header.time))
        out.unsafeAppend(",\"timestamp_readable\":\"")
        UTCTime.write(header.time, to: &out)
        out.unsafeAppend("\",\"nbits\":\"")
        withUnsafeBytes(of: header.bits.bigEndian) { out.unsafeAppend(hex: $0) }
        out.unsafeAppend("\",\"nonce\":")
        out.unsafeAppend(decimal: UInt64(header.nonce))
        out.unsafeAppend(",\"txn_count\":")
        out.unsafeAppend(decimal: UInt64(checked.txids.count))
        out.unsafeAppend(",\"transactions\":[")
        // The block passed its checks, so reading it again cannot fail.
        var reader = try! TransactionReader(bytes, baseOffset: checked.frame.payload.lowerBound, options: .legacy)
        var writer = TransactionJSON(out: out, bytes: bytes)
        for txid in checked.txids {
            writer.txid = txid
            _ = try! reader.next(visitor: &writer)
        }
        out = writer.out
        out.reserve(4)
        out.unsafeAppend("]}")
    }
}

/// Writes one transaction object as `Transaction.walk` reports its fields.
struct TransactionJSON: TransactionVisitor {
    var out: OutputBuffer
    let bytes: UnsafeRawBufferPointer
    var txid = Hash256.zero
    var first = true
    var firstItem = true

    mutating func version(_ version: UInt32) {
        out.reserve(128)
        if !first { out.unsafeAppend(byte: UInt8(ascii: ",")) }
        first = false
        out.unsafeAppend("{\"txid\":\"")
        out.unsafeAppend(displayHex: txid)
        out.unsafeAppend("\",\"version\":")
        out.unsafeAppend(decimal: UInt64(version))
    }

    mutating func inputCount(_ count: Int) {
        out.reserve(64)
        out.unsafeAppend(",\"txn_in_count\":")
        out.unsafeAppend(decimal: UInt64(count))
        out.unsafeAppend(",\"txn_inputs\":[")
        firstItem = true
    }

    mutating func input(_ previousOutput: OutPoint, scriptSig: Range<Int>, sequence: UInt32) {
        out.reserve(256 + 2 * scriptSig.count)
        if !firstItem { out.unsafeAppend(byte: UInt8(ascii: ",")) }
        firstItem = false
        out.unsafeAppend("{\"txn_hash\":\"")
        out.unsafeAppend(displayHex: previousOutput.txid)
        out.unsafeAppend("\",\"utxo_hash\":\"")
        out.unsafeAppend(displayHex: previousOutput.txid)
        out.unsafeAppend("\",\"index\":")
        out.unsafeAppend(decimal: UInt64(previousOutput.index))
        out.unsafeAppend(",\"input_script_size\":")
        out.unsafeAppend(decimal: UInt64(scriptSig.count))
        out.unsafeAppend(",\"input_script_bytes\":\"")
        out.unsafeAppend(hex: UnsafeRawBufferPointer(rebasing: bytes[scriptSig]))
        out.unsafeAppend("\",\"sequence\":")
        out.unsafeAppend(decimal: UInt64(sequence))
        out.unsafeAppend("}")
    }

    mutating func outputCount(_ count: Int) {
        out.reserve(64)
        out.unsafeAppend("],\"txn_out_count\":")
        out.unsafeAppend(decimal: UInt64(count))
        out.unsafeAppend(",\"txn_outputs\":[")
        firstItem = true
    }

    mutating func output(value: Int64, scriptPubKey: Range<Int>) {
        out.reserve(128 + 2 * scriptPubKey.count)
        if !firstItem { out.unsafeAppend(byte: UInt8(ascii: ",")) }
        firstItem = false
        out.unsafeAppend("{\"satoshis\":")
        out.unsafeAppend(decimal: UInt64(bitPattern: value))
        out.unsafeAppend(",\"output_script_size\":")
        out.unsafeAppend(decimal: UInt64(scriptPubKey.count))
        out.unsafeAppend(",\"output_script_bytes\":\"")
        out.unsafeAppend(hex: UnsafeRawBufferPointer(rebasing: bytes[scriptPubKey]))
        out.unsafeAppend("\"}")
    }

    mutating func lockTime(_ lockTime: UInt32) {
        out.reserve(48)
        out.unsafeAppend("],\"lock_time\":")
        out.unsafeAppend(decimal: UInt64(lockTime))
        out.unsafeAppend("}")
    }
}

/// UTC calendar time without Foundation: `YYYY-MM-DD HH:MM:SS`.
public enum UTCTime {
    /// Writes the 19-character UTC form of `seconds` since 1970. Needs 19 reserved bytes.
    public static func write(_ seconds: UInt32, to out: inout OutputBuffer) {
        let (year, month, day, hour, minute, second) = components(seconds)
        func two(_ v: Int) { out.unsafeAppend(byte: UInt8(48 + v / 10)); out.unsafeAppend(byte: UInt8(48 + v % 10)) }
        two(year / 100); two(year % 100)
        out.unsafeAppend(byte: UInt8(ascii: "-")); two(month)
        out.unsafeAppend(byte: UInt8(ascii: "-")); two(day)
        out.unsafeAppend(byte: UInt8(ascii: " ")); two(hour)
        out.unsafeAppend(byte: UInt8(ascii: ":")); two(minute)
        out.unsafeAppend(byte: UInt8(ascii: ":")); two(second)
    }

    /// The UTC form of `seconds` since 1970, e.g. "2009-01-03 18:15:05".
    public static func string(_ seconds: UInt32) -> String {
        var buffer = OutputBuffer(capacity: 19)
        buffer.reserve(19)
        write(seconds, to: &buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    /// Civil date and time of `seconds` since 1970 (proleptic Gregorian, days-from-civil inverse).
    public static func components(_ seconds: UInt32) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let s = Int(seconds)
        let days = s / 86_400
        let rest = s % 86_400
        // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, rest / 3600, rest % 3600 / 60, rest % 60)
    }
}
