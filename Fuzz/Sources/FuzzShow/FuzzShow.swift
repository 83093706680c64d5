import BitcoinWire
import BlockFile
import CFuzzer
import Export
import Foundation

@_cdecl("FuzzShow_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { blocksmith_fuzz_main(argc, argv) }

/// libFuzzer entry point: any bytes through `blocksmith show`'s path, as a blk file (or a raw
/// block). Nothing may trap, and every JSON line must parse as a JSON object.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let input = BlockInput(MappedFile(copying: bytes, path: "fuzz"), network: .regtest)
    let context = InputContext.read(input, workers: 1)
    let text = ShowText(colors: false)
    for json in [true, false] {
        var rendered = OutputBuffer(capacity: 1 << 16)
        _ = try! ShowJob.run(input, context: context, selection: ShowSelection(), workers: 1, render: { details, only, out in
            if json { ShowJSON.write(details, only: only, to: &out) } else { out.append(text.render(details, only: only) + "\n") }
        }, emit: { buffer in rendered.append(buffer.bytes) })
        guard json else { continue }
        let lines = Array(rendered.bytes).split(separator: 0x0a)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line))
            precondition(object is [String: Any], "show wrote a line that is not a JSON object: \(String(decoding: line, as: UTF8.self))")
        }
    }
    return 0
}
