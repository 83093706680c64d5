import BitcoinWire
import BlockFile
import CFuzzer
import Validation

@_cdecl("FuzzVerify_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { blocksmith_fuzz_main(argc, argv) }

/// libFuzzer entry point: any bytes through `blocksmith verify`'s path. Nothing may trap; every
/// failure names a rule and an offset inside the input; blocks are reported in file order.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let input = BlockInput(MappedFile(copying: bytes, path: "fuzz"), network: .regtest)
    var last = -1
    _ = try! Verifier.run(input, workers: 1) { verified in
        precondition(verified.frame.index == last + 1, "blocks out of order")
        last = verified.frame.index
        for failure in verified.failures {
            precondition(!failure.rule.isEmpty && failure.offset >= 0 && failure.offset <= count, "failure outside the input: \(failure)")
        }
    }
    return 0
}
