import ArgumentParser
import BitcoinWire
import BlockFile
import Export
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain blocks: every field, and the values the chain does not store.",
        discussion: """
            Reads a blk file (any network), a raw block, or hex (from a file or '-' for \
            standard input). Shows the header with hashes in display order, nBits as target \
            and difficulty, proof of work, height, sizes and weights, the coinbase text, and \
            every transaction with its inputs and outputs: txid and wtxid, script ASM, output \
            types and addresses, values in BTC and satoshis, and the fee of every transaction \
            whose spent outputs are in the same input.

            --format json writes one JSON object per block per line (see the README for the schema).

            Exit status: 0 shown, 1 the input is damaged after the blocks shown, 2 usage or \
            I/O problem (or nothing matched --block, --hash or --tx).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @OptionGroup var input: BlockInputOptions

    @Option(help: "Show only the block at this index in the file (0 for the first).")
    var block: Int?

    @Option(help: "Show only the block with this hash.")
    var hash: String?

    @Option(help: "Show only this transaction.")
    var tx: String?

    @Option(help: "text (default) or json.")
    var format: Format = .text

    @Flag(help: "Color the text even when not writing to a terminal.")
    var color = false

    func validate() throws {
        if block != nil && hash != nil { throw ValidationError("--block and --hash cannot be used together") }
        if let block, block < 0 { throw ValidationError("--block must be 0 or more") }
        if let hash, Hash256(displayHex: hash) == nil { throw ValidationError("--hash must be 64 hex digits") }
        if let tx, Hash256(displayHex: tx) == nil { throw ValidationError("--tx must be 64 hex digits") }
    }

    func run() throws {
        let source = try input.open()
        let context = InputContext.read(source)
        let selection = ShowSelection(block: block, hash: hash.flatMap { Hash256(displayHex: $0) },
                                      txid: tx.flatMap { Hash256(displayHex: $0) })
        let text = ShowText(colors: color || (isatty(1) == 1 && getenv("NO_COLOR") == nil))
        let json = format == .json
        let shown = try ShowJob.run(source, context: context, selection: selection, render: { details, only, out in
            if json {
                ShowJSON.write(details, only: only, to: &out)
            } else {
                out.append(text.render(details, only: only) + "\n")
            }
        }, emit: { buffer in
            var done = 0
            while done < buffer.count {
                let n = write(1, buffer.bytes.baseAddress! + done, buffer.count - done)
                if n <= 0 { throw ToolError("cannot write to standard output") }
                done += n
            }
        })
        if let damage = context.damage {
            standardError("blocksmith: \(source.file.path): \(damage); the \(context.hashes.count) block\(context.hashes.count == 1 ? "" : "s") before it are shown")
            throw ExitCode(1)
        }
        if shown == 0 && (block != nil || hash != nil || tx != nil) {
            throw ToolError("\(source.file.path): no such \(tx != nil ? "transaction" : "block") in the input")
        }
    }
}
