import ArgumentParser
import BitcoinWire
import BlockFile
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The input options `show` and `verify` share.
struct BlockInputOptions: ParsableArguments {
    @Argument(help: "A blk file, a raw block, or hex text; '-' reads standard input.")
    var file: String

    @Option(help: "Network of input without magic bytes (raw blocks, hex): mainnet, testnet3, testnet4, signet, regtest, learning.",
            transform: { text in
                guard let network = ChainParameters.known(name: text) else {
                    throw ValidationError("unknown network '\(text)': use mainnet, testnet3, testnet4, signet, regtest or learning")
                }
                return network
            })
    var network: ChainParameters = .mainnet

    /// Opens the input: blk data (network by each block's magic), a raw block, or hex text.
    func open() throws -> BlockInput {
        let mapped: MappedFile
        if file == "-" {
            mapped = MappedFile(copying: readStandardInput(), path: "<stdin>")
        } else {
            do { mapped = try MappedFile(path: file) } catch { throw ToolError(error) }
        }
        let input = BlockInput(mapped, network: network)
        if input.layout != .blk, looksLikeHex(mapped.bytes) {
            guard let decoded = BlockInput.fromHex(mapped.bytes, name: mapped.path, network: network) else {
                throw ToolError("\(mapped.path): hex text with an odd number of digits")
            }
            return decoded
        }
        return input
    }

    func looksLikeHex(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { Hex.nibble($0) != nil || $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }
    }

    func readStandardInput() -> [UInt8] {
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}
