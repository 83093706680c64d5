public import BitcoinWire
import Export

/// The tutorial's view of a block (`index`, `timestamp`, `data`, `prev_hash`, `hash`,
/// `nonce`) with Bitcoin's fields beside it (`version`, `merkle_root`, `bits`, `target`,
/// `difficulty`, `chainwork`, `header`: the 80 header bytes in hex), as JSON.
public enum BlockView {
    /// One block's view.
    public static func json(entry: ChainEntry, block: Block) -> [UInt8] {
        var out = OutputBuffer(capacity: 1024)
        write(entry: entry, block: block, to: &out)
        out.append("\n")
        return Array(out.bytes)
    }

    static func write(entry: ChainEntry, block: Block, to out: inout OutputBuffer) {
        let h = entry.header
        var o = JSONObject(out: out)
        o.number("index", Int(entry.height))
        o.number("timestamp", Int(h.time))
        o.string("data", BlockBuilder.data(of: block))
        o.string("prev_hash", h.previousBlockHash.displayHex)
        o.string("hash", entry.hash.displayHex)
        o.number("nonce", Int(h.nonce))
        o.number("version", Int(h.version))
        o.string("merkle_root", h.merkleRoot.displayHex)
        o.string("bits", Hex.encode(h.bits))
        o.string("target", h.target.target.hex)
        o.raw("difficulty", h.target.difficulty.map { "\($0)" } ?? "null")
        o.string("chainwork", entry.chainWork.hex)
        o.string("header", Hex.encode(h.encoded))
        o.number("transactions", block.transactions.count)
        o.close()
        out = o.out
    }

    /// Blocks' views as a JSON array.
    public static func json(_ items: [(ChainEntry, Block)]) -> [UInt8] {
        var out = OutputBuffer(capacity: 512 * items.count + 16)
        out.append("[")
        for (i, (entry, block)) in items.enumerated() {
            if i > 0 { out.append(",\n") }
            write(entry: entry, block: block, to: &out)
        }
        out.append("]\n")
        return Array(out.bytes)
    }

    /// `{"hash", "height", "chainwork"}` of a tip.
    public static func tipJSON(_ tip: ChainEntry) -> [UInt8] {
        var o = JSONObject(out: OutputBuffer(capacity: 256))
        o.string("hash", tip.hash.displayHex)
        o.number("height", Int(tip.height))
        o.string("chainwork", tip.chainWork.hex)
        o.close()
        o.out.append("\n")
        return Array(o.out.bytes)
    }
}
