import BitcoinWire
import BitcoinScript

/// `show`'s readable dump, in the manner of the classic "block dissected" tutorials: every
/// header field, then each transaction with its inputs and outputs, plus what the chain
/// does not store (hashes, height, sizes, target and difficulty, ASM, types, addresses, fees).
public struct ShowText: Sendable {
    /// ANSI colors and bold, for a terminal.
    public var colors: Bool

    public init(colors: Bool) { self.colors = colors }

    func paint(_ text: String, _ code: String) -> String { colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func label(_ text: String) -> String { paint(text + String(repeating: " ", count: max(1, 16 - text.count)), "2") }
    func hash(_ text: String) -> String { paint(text, "33") }
    func amount(_ sats: Int64) -> String { paint("\(btc(sats)) BTC", "32") + " (\(sats) sat)" }

    /// The block, or only transaction `only`, as text lines.
    public func render(_ d: BlockDetails, only: Int? = nil) -> String {
        var out = ""
        let h = d.block.header
        func line(_ name: String, _ value: String) { out += "  " + label(name) + value + "\n" }
        out += paint("Block \(d.frame.index)", "1") + "  " + hash(d.hash.displayHex) + "\n"
        line("network", "\(d.network) (magic \(magicHex(d.network.magic)))")
        line("file offset", "\(d.frame.offset)")
        line("height", d.height.map { "\($0)" + (d.block.bip34Height != nil ? " (from the coinbase, BIP34)" : "") } ?? "unknown")
        line("size", "\(d.frame.payload.count) bytes; stripped \(d.block.strippedSize), weight \(d.block.weight), vsize \(d.block.virtualSize)")
        line("version", "\(h.version) (0x\(Hex.encode(UInt32(bitPattern: h.version))))")
        line("previous block", hash(h.previousBlockHash.displayHex))
        let root = Merkle.root(d.block.transactions.map(\.txid))?.root
        line("merkle root", hash(h.merkleRoot.displayHex) + (root == h.merkleRoot ? " (matches)" : paint(" (does not match: \(root?.displayHex ?? "no transactions"))", "31")))
        line("time", "\(h.time) (\(UTCTime.string(h.time)) UTC)")
        let target = h.target
        line("bits", "\(Hex.encode(h.bits))  target \(target.isValid ? target.target.hex : "invalid")")
        line("difficulty", target.difficulty.map { "\($0)" } ?? "undefined (the nBits mantissa is zero)")
        line("nonce", "\(h.nonce) (0x\(Hex.encode(h.nonce)))")
        let pow = h.hasValidProofOfWork(hash: d.hash, limit: d.network.powLimit)
        line("proof of work", pow ? "valid (hash at or below the target)" : paint("invalid", "31"))
        line("work", "0x\(target.work.hex.drop { $0 == "0" }) hashes expected")
        if let commitment = d.block.witnessCommitment {
            let ok = d.block.witnessCommitmentIsValid == true
            line("witness commit", hash(commitment.displayHex) + (ok ? " (matches)" : paint(" (does not match)", "31")))
        }
        let text = d.block.coinbaseText
        if !text.isEmpty { line("coinbase text", text) }
        line("transactions", "\(d.block.transactions.count)")
        for (i, tx) in d.block.transactions.enumerated() where only == nil || only == i {
            out += "\n" + render(tx, index: i, in: d)
        }
        return out
    }

    func render(_ tx: Transaction, index: Int, in d: BlockDetails) -> String {
        var out = "  " + paint("Transaction \(index)", "1") + "  " + hash(tx.txid.displayHex) + (tx.isCoinbase ? "  (coinbase)" : "") + "\n"
        func line(_ name: String, _ value: String) { out += "    " + label(name) + value + "\n" }
        if tx.hasWitness { line("wtxid", hash(tx.wtxid.displayHex)) }
        line("file offset", "\(d.transactionOffsets[index])")
        line("version", "\(tx.version)")
        line("size", "\(tx.size()) bytes; stripped \(tx.size(witness: false)), weight \(tx.weight), vsize \(tx.virtualSize)")
        line("lock time", "\(tx.lockTime)")
        if let fee = d.fee(index) {
            let rate = (Double(fee) / Double(tx.virtualSize) * 1000).rounded() / 1000
            line("fee", amount(fee) + "; \(rate) sat/vB")
        } else {
            line("fee", tx.isCoinbase ? "none (coinbase)" : "unknown (spent outputs not in this input)")
        }
        for (n, input) in tx.inputs.enumerated() {
            let spends = tx.isCoinbase ? "coinbase" : "\(input.previousOutput.txid):\(input.previousOutput.index)"
            out += "    " + paint("input \(n)", "36") + "   " + spends + "\n"
            if let value = d.inputValues[index][n] { line("  value", amount(value)) }
            line("  script", Hex.encode(input.scriptSig))
            if !tx.isCoinbase { line("  asm", Script(input.scriptSig).asm(decodingSighash: true)) }
            line("  sequence", "0x\(Hex.encode(input.sequence))")
            for (w, item) in input.witness.enumerated() { line("  witness \(w)", Hex.encode(item)) }
        }
        for (n, output) in tx.outputs.enumerated() {
            let pattern = Script(output.scriptPubKey).pattern
            out += "    " + paint("output \(n)", "36") + "  " + amount(output.value) + "  " + pattern.type.shortName + "\n"
            if let address = pattern.address(on: d.network) {
                line("  address", paint(address.text, "35") + (address.isDerived ? " (P2PKH of the key, as explorers show it)" : ""))
            }
            line("  script", Hex.encode(output.scriptPubKey))
            line("  asm", Script(output.scriptPubKey).asm())
            if let text = Script(output.scriptPubKey).nullDataText { line("  text", "\"\(text)\"") }
        }
        return out
    }
}

func magicHex(_ magic: UInt32) -> String { withUnsafeBytes(of: magic.littleEndian) { Hex.encode($0) } }
