import BitcoinWire
import BitcoinScript
import ChainIndex
import Export

/// A value written as esplora's JSON straight into a buffer. Pages of full transactions run
/// to hundreds of kilobytes; Foundation's JSONEncoder spent most of the request's time on
/// them (measured with perf under wrk), so these shapes are written by hand with Export's
/// JSON writer.
protocol JSONWritable {
    func write(to out: inout OutputBuffer)
}

extension Array: JSONWritable where Element: JSONWritable {
    func write(to out: inout OutputBuffer) {
        out.append("[")
        for (i, element) in enumerated() {
            if i > 0 { out.append(",") }
            element.write(to: &out)
        }
        out.append("]")
    }
}

extension JSONObject {
    mutating func value(_ name: StaticString, _ value: some JSONWritable) {
        key(name)
        value.write(to: &out)
    }
}

/// esplora's JSON shapes, built from the index's answers. Field names are esplora's.
enum Esplora {
    static func object(_ out: inout OutputBuffer, _ body: (inout JSONObject) -> Void) {
        var o = JSONObject(out: out)
        body(&o)
        o.close()
        out = o.out
    }

    struct Block: JSONWritable {
        let b: BlockInfo
        init(_ b: BlockInfo) { self.b = b }

        func write(to out: inout OutputBuffer) {
            Esplora.object(&out) { o in
                o.string("id", b.hash); o.optionalNumber("height", b.height); o.optionalNumber("version", b.version)
                o.optionalNumber("timestamp", b.time); o.optionalNumber("mediantime", b.medianTime)
                o.optionalNumber("bits", Int64(b.bits, radix: 16)); o.optionalNumber("nonce", b.nonce)
                o.raw("difficulty", "\(b.difficulty ?? 0)"); o.string("merkle_root", b.merkleRoot); o.number("tx_count", b.txCount)
                o.number("size", b.size); o.number("weight", b.weight)
                o.optionalString("previousblockhash", b.previousHash == Hash256.zero.displayHex ? nil : b.previousHash)
            }
        }
    }

    struct BlockStatus: JSONWritable {
        let b: BlockInfo
        init(_ b: BlockInfo) { self.b = b }
        func write(to out: inout OutputBuffer) {
            Esplora.object(&out) { o in
                o.bool("in_best_chain", b.inBestChain); o.optionalNumber("height", b.height); o.optionalString("next_best", b.nextBest)
            }
        }
    }

    /// A confirmed transaction's place (everything the index serves is confirmed).
    struct Status: JSONWritable {
        let block: BlockRef
        init(_ block: BlockRef) { self.block = block }
        func write(to out: inout OutputBuffer) {
            Esplora.object(&out) { o in
                o.bool("confirmed", true); o.optionalNumber("block_height", block.height); o.string("block_hash", block.hash)
                o.optionalNumber("block_time", block.time)
            }
        }
    }

    /// An output. P2PK outputs keep the derived P2PKH address the index files them under, so
    /// they can be found again; esplora leaves `scriptpubkey_address` out when there is none.
    static func output(_ o: inout JSONObject, script bytes: ArraySlice<UInt8>, value: Int64, address: String?, network: ChainParameters) {
        let script = Script(bytes)
        var asm = [UInt8]()
        script.writeEsploraASM(into: &asm)
        o.hex("scriptpubkey", bytes); o.ascii("scriptpubkey_asm", asm); o.string("scriptpubkey_type", script.esploraType)
        if let address = address ?? script.pattern.address(on: network)?.text { o.string("scriptpubkey_address", address) }
        o.optionalNumber("value", value)
    }

    struct Transaction: JSONWritable {
        let d: TransactionDetail, network: ChainParameters
        init(_ d: TransactionDetail, network: ChainParameters) { (self.d, self.network) = (d, network) }

        func write(to out: inout OutputBuffer) {
            let tx = d.transaction
            Esplora.object(&out) { o in
                o.string("txid", d.info.txid); o.optionalNumber("version", Int64(tx.version)); o.optionalNumber("locktime", Int64(tx.lockTime))
                o.key("vin")
                o.out.append("[")
                var asm = [UInt8]()
                for (n, input) in tx.inputs.enumerated() {
                    if n > 0 { o.out.append(",") }
                    Esplora.object(&o.out) { i in
                        i.string("txid", input.previousOutput.txid.displayHex); i.optionalNumber("vout", Int64(input.previousOutput.index))
                        i.key("prevout")
                        if let prevout = d.prevouts[n] {
                            Esplora.object(&i.out) { p in
                                Esplora.output(&p, script: prevout.scriptPubKey[...], value: prevout.value, address: prevout.address, network: network)
                            }
                        } else {
                            i.out.append("null")
                        }
                        asm.removeAll(keepingCapacity: true)
                        Script(input.scriptSig).writeEsploraASM(into: &asm)
                        i.hex("scriptsig", input.scriptSig); i.ascii("scriptsig_asm", asm)
                        i.hexArray("witness", input.witness)
                        i.bool("is_coinbase", tx.isCoinbase); i.optionalNumber("sequence", Int64(input.sequence))
                    }
                }
                o.out.append("]")
                o.key("vout")
                o.out.append("[")
                for (n, output) in tx.outputs.enumerated() {
                    if n > 0 { o.out.append(",") }
                    Esplora.object(&o.out) { v in
                        Esplora.output(&v, script: output.scriptPubKey, value: output.value,
                                       address: n < d.info.outputs.count ? d.info.outputs[n].address : nil, network: network)
                    }
                }
                o.out.append("]")
                o.number("size", d.raw.count); o.number("weight", tx.weight); o.optionalNumber("fee", d.info.fee ?? 0)
                o.value("status", Status(d.block))
            }
        }
    }

    struct Outspend: JSONWritable {
        let s: ChainIndex.Outspend
        init(_ s: ChainIndex.Outspend) { self.s = s }
        func write(to out: inout OutputBuffer) {
            Esplora.object(&out) { o in
                o.bool("spent", s.spent)
                if s.spent, let txid = s.txid, let block = s.block {
                    o.string("txid", txid); o.optionalNumber("vin", s.vin); o.value("status", Status(block))
                }
            }
        }
    }

    struct Address: JSONWritable {
        let address: String, stats: AddressStats
        func write(to out: inout OutputBuffer) {
            Esplora.object(&out) { o in
                o.string("address", address)
                o.key("chain_stats")
                Esplora.object(&o.out) { Self.write(stats, to: &$0) }
                o.key("mempool_stats")
                Esplora.object(&o.out) { Self.write(.none, to: &$0) }
            }
        }

        static func write(_ s: AddressStats, to c: inout JSONObject) {
            c.optionalNumber("funded_txo_count", s.fundedCount); c.optionalNumber("funded_txo_sum", s.fundedSum)
            c.optionalNumber("spent_txo_count", s.spentCount); c.optionalNumber("spent_txo_sum", s.spentSum)
            c.optionalNumber("tx_count", s.txCount)
        }
    }

    struct UTXO: JSONWritable {
        let u: ChainIndex.UTXO
        init(_ u: ChainIndex.UTXO) { self.u = u }
        func write(to out: inout OutputBuffer) {
            Esplora.object(&out) { o in
                o.string("txid", u.txid); o.optionalNumber("vout", u.vout)
                o.value("status", Status(BlockRef(hash: u.blockHash, height: u.height, time: u.blockTime)))
                o.optionalNumber("value", u.value)
            }
        }
    }
}
