import ArgumentParser
import BitcoinWire
import BlockFile
import Validation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every block against the rules any real block must pass.",
        discussion: """
            Proof of work against nBits (and the network's limit), the merkle root, the \
            duplicated-transaction merkle mutation (CVE-2012-2459), the witness commitment, \
            exactly one coinbase and in first place, output values within 21 million BTC, \
            size, weight and signature-operation limits. Each failure is one line naming the \
            file, block, byte offset and rule (Bitcoin Core's reject reason). A block that does \
            not follow the one before it in the file is noted, not failed.

            Exit status: 0 when every block passed, 1 when any failed, 2 usage or I/O problem.
            """)

    @OptionGroup var input: BlockInputOptions

    func run() throws {
        let source = try input.open()
        let name = input.file == "-" ? "<stdin>" : input.file
        var count = 0, failed = 0
        var previous: BlockHash?
        let framingError = try Verifier.run(source) { block in
            count += 1
            if !block.failures.isEmpty { failed += 1 }
            for failure in block.failures {
                print("\(name): block \(block.frame.index) at byte \(failure.offset): \(failure.rule): \(failure.detail)")
            }
            if let previous, let hash = block.hash, block.previousHash != previous {
                print("\(name): block \(block.frame.index) (\(hash)) does not follow block \(block.frame.index - 1) in the file (note, not a failure)")
            }
            previous = block.hash
        }
        if let framingError {
            print("\(name): block \(framingError.blockIndex) at byte \(framingError.offset): bad-framing: \(framingError)")
        }
        let passed = count - failed
        print("\(count) block\(count == 1 ? "" : "s") verified: \(passed) passed, \(failed) failed" + (framingError != nil ? "; the file is damaged after block \(count - 1)" : ""))
        if failed > 0 || framingError != nil { throw ExitCode(1) }
    }
}
