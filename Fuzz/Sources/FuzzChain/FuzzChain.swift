import BitcoinWire
import CFuzzer
import LearningChain
import Validation

@_cdecl("FuzzChain_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { blocksmith_fuzz_main(argc, argv) }

/// The learning chain's rules with proof of work made cheap (a limit of 2^255: every other
/// hash passes), so fuzzed blocks reach the body, context and UTXO rules.
let network: ChainParameters = {
    var p = ChainParameters.learning
    p.name = "learning-fuzz"
    p.powLimit = UInt256.max >> 1
    return p
}()

/// The block with a nonce that solves it among the first 4,096 (a patched nBits may make
/// that impossible: then nonce 0, and the block fails its proof of work).
func solved(_ block: Block) -> Block {
    let nonce = Miner.solve(NonceSearch(header: block.header), in: 0..<4096, threads: 1).nonce ?? 0
    return BlockBuilder.with(nonce: nonce, block)
}

let genesis = solved(BlockBuilder.template(previous: .zero, height: 0, time: BlockBuilder.genesisTime, bits: network.powLimit.compact,
                                           data: [], extraNonce: 0, value: network.subsidy(atHeight: 0)))

/// libFuzzer entry point. The input is a list of frames `op, length (2 bytes), bytes`:
/// - op bit 7 clear: the bytes are a block (raw);
/// - op bit 7 set: the bytes are patches (offset, value byte pairs) applied to a valid block
///   mined on the tip (its nonce solved again after the patches when bit 6 is set);
/// - op bit 5: the block is offered unrequested; bits 0–3 move the clock.
/// Nothing may trap; after every block the best chain links up from the genesis block with
/// bodies, no block on it is known invalid, and its tip has at least the work of every block
/// accepted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: start, count: count))
    var clock = Int64(BlockBuilder.genesisTime) + 1_000_000
    let chain = Chain(genesis: genesis, network: network, now: { clock })
    var position = 0
    var extraNonce: UInt64 = 0
    var mostWork = chain.tip.chainWork
    while position + 3 <= input.count {
        let op = input[position]
        let length = min(Int(input[position + 1]) | Int(input[position + 2]) << 8, input.count - position - 3)
        let body = Array(input[(position + 3)..<(position + 3 + length)])
        position += 3 + length
        clock += Int64(op & 0x0f) * 7
        var bytes = body
        if op & 0x80 != 0 {
            extraNonce += 1
            var block = chain.template(data: Array("fuzz".utf8), extraNonce: extraNonce).encoded()
            var i = 0
            while i + 1 < body.count {
                block[Int(body[i]) % block.count] = body[i + 1]
                i += 2
            }
            if op & 0x40 != 0, let decoded = try? Block(decoding: block) { block = solved(decoded).encoded() }
            bytes = block
        }
        guard let block = try? Block(decoding: bytes) else { continue }
        if let accepted = try? chain.accept(block, bytes: bytes, requested: op & 0x20 == 0) {
            let work = chain.entry(accepted.hash)!.chainWork
            if work > mostWork && chain.isBest(accepted.hash) { mostWork = work }
        }
        // The best chain: linked, with bodies, nothing known invalid, the most work seen.
        for h in 0...chain.height {
            let e = chain.entry(atHeight: h)!
            precondition(e.hasData && e.invalidReason == nil, "best block \(h) lacks its body or is invalid")
            precondition(h == 0 || e.header.previousBlockHash == chain.entry(atHeight: h - 1)!.hash, "best chain broken at \(h)")
        }
        precondition(chain.tip.chainWork >= mostWork, "the tip lost work")
    }
    return 0
}
