import BitcoinScript
import BitcoinWire
import BlockFile
import CFuzzer
import Validation

@_cdecl("FuzzDecoder_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { blocksmith_fuzz_main(argc, argv) }

/// libFuzzer entry point: any bytes, as a block, a transaction, a script, an address and a
/// whole blk file. Decoding may fail but must never trap; whatever decodes canonically must
/// re-encode to the same bytes; every address must parse back to its script; the assignment
/// validator must give a verdict.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    if let (block, offsets) = try? Block.decodeLocated(bytes) {
        precondition(block.encoded() == bytes, "block round trip")
        _ = BlockRules.check(block, hash: block.hash, network: .mainnet, baseOffset: 0, transactionOffsets: offsets)
        _ = block.coinbaseText
    }
    // As a script: disassembly and classification never fail; every address parses back.
    let script = Script(bytes)
    _ = script.asm(decodingSighash: true)
    let pattern = script.pattern
    if let address = pattern.address(on: .mainnet), !address.isDerived {
        precondition(Address.scriptPubKey(for: address.text, on: .mainnet) == bytes, "address round trip")
    }
    _ = Address.scriptPubKey(for: String(decoding: bytes, as: UTF8.self), on: .testnet3)
    _ = try? Block(decoding: bytes, options: .legacy)
    if let tx = try? Transaction(decoding: bytes) {
        precondition(tx.encoded() == bytes, "transaction round trip")
        precondition(SHA256d.hash(tx.encoded(witness: false)) == tx.txid, "txid")
    }
    // As a (possibly obfuscated) file of a blocks folder: the reader ends, and every block
    // it returns lies inside the file.
    let file = MappedFile(copying: bytes, path: "fuzz")
    for key in [nil, [UInt8]([1, 2, 3, 4, 5, 6, 7, 8])] {
        var reader = BlockFileReader(file: file, key: key)
        var events = 0
        while let event = reader.next() {
            events += 1
            precondition(events <= count + 1, "reader does not advance")
            if case .block(let frame, let block) = event { precondition(frame.payload.upperBound <= count && block.count == frame.payload.count) }
        }
    }
    // As a blk file, and as a block behind a valid preamble.
    let report = try! AssignmentValidator.run(MappedFile(copying: bytes, path: "fuzz"), workers: 1)
    precondition(report.verdict.hasPrefix("no errors") == (report.error == nil))
    let size = UInt32(count)
    let framed: [UInt8] = [0xf9, 0xbe, 0xb4, 0xd9] + withUnsafeBytes(of: size.littleEndian, Array.init) + bytes
    _ = try! AssignmentValidator.run(MappedFile(copying: framed, path: "fuzz"), workers: 1)
    return 0
}
