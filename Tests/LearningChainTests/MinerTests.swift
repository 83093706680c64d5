import Testing
import BitcoinWire
import LearningChain

@Suite struct MinerTests {
    static func header(bits: UInt32, time: UInt32 = 1_600_000_000) -> BlockHeader {
        BlockHeader(version: 0x2000_0000, previousBlockHash: SHA256d.hash(Array("prev".utf8)), merkleRoot: SHA256d.hash(Array("root".utf8)),
                    time: time, bits: bits, nonce: 0)
    }

    static func with(_ h: BlockHeader, nonce: UInt32) -> BlockHeader {
        BlockHeader(version: h.version, previousBlockHash: h.previousBlockHash, merkleRoot: h.merkleRoot, time: h.time, bits: h.bits, nonce: nonce)
    }

    /// The midstate search finds exactly the nonces a plain SHA-256d of the header accepts.
    @Test(arguments: [UInt32(0x2000_ffff), 0x2001_ffff, 0x1f0f_ffff])
    func midstateAgreesWithTheFullHash(bits: UInt32) {
        let header = Self.header(bits: bits)
        let search = NonceSearch(header: header)
        let target = header.target.target
        var start: UInt64 = 0
        var found = 0
        while start < 3000 {
            let (nonce, tried) = search.search(start..<3000) { false }
            // Every nonce skipped fails the plain hash; the one returned passes.
            let end = nonce.map { UInt64($0) } ?? 3000
            for n in start..<end {
                #expect(UInt256(Self.with(header, nonce: UInt32(n)).hash) > target, "nonce \(n)")
            }
            guard let nonce else { #expect(tried == 3000 - start); break }
            #expect(UInt256(Self.with(header, nonce: nonce).hash) <= target)
            found += 1
            start = UInt64(nonce) + 1
        }
        if bits != 0x1f0f_ffff { #expect(found > 0) }
    }

    @Test func severalThreadsFindAValidNonce() {
        let header = Self.header(bits: 0x1f0f_ffff)
        let (nonce, tried) = Miner.solve(header, threads: 3)
        let n = try! #require(nonce)
        #expect(tried > 0)
        #expect(Self.with(header, nonce: n).hasValidProofOfWork(hash: Self.with(header, nonce: n).hash, limit: .max))
    }

    @Test func stopsWhenAsked() {
        let header = Self.header(bits: 0x0300_0001)  // nothing solves it
        let (nonce, tried) = Miner.solve(header, threads: 2) { true }
        #expect(nonce == nil)
        #expect(tried <= 2)
    }

    @Test func genesisIsDeterministic() {
        let genesis = BlockBuilder.genesis(leadingZeros: 5)
        #expect(genesis.header.hash == ChainParameters.learning.genesisHash)
        #expect(genesis.header.hash.displayHex == "00000f985cdd02b7e364fafe9f37ef6e4d3f19e86b853f26405806f3f1b9694c")
        #expect(BlockBuilder.genesis(leadingZeros: 3).header.hash == BlockBuilder.genesis(leadingZeros: 3).header.hash)
        #expect(BlockBuilder.genesis(leadingZeros: 3).header.hash != genesis.header.hash)
        #expect(BlockBuilder.data(of: genesis) == "First block data")
        #expect(genesis.bip34Height == 0)
    }

    @Test func dataRoundTrips() {
        for text in ["", "hello", String(repeating: "x", count: 75), String(repeating: "é", count: 40)] {
            let block = BlockBuilder.template(previous: .zero, height: 300, time: 0, bits: 0x1f0f_ffff, data: Array(text.utf8),
                                              extraNonce: 7, value: 1)
            #expect(BlockBuilder.data(of: block) == text)
            #expect(block.bip34Height == 300)
            let bytes = block.encoded()
            #expect(try! Block(decoding: bytes).header.hash == block.header.hash)
        }
    }
}
