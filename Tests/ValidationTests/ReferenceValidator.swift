import Crypto
import Foundation

/// An independent, deliberately plain implementation of the assignment's contract (arrays and
/// indices, no shared code with the library), used as the oracle for mutation tests.
enum ReferenceValidator {
    static func verdict(_ file: [UInt8]) -> String {
        var pos = 0
        var blocks = 0
        var previous: (hash: [UInt8], time: Int64)?
        while true {
            if file[pos...].allSatisfy({ $0 == 0 }) { return "no errors \(blocks) blocks" }
            let fail = { (check: Int) in "error \(check) block \(blocks)" }
            if file.count - pos < 8 { return fail(1) }
            if Array(file[pos..<(pos + 4)]) != [0xf9, 0xbe, 0xb4, 0xd9] { return fail(1) }
            let size = Int(le32(file, pos + 4))
            if size < 81 || pos + 8 + size > file.count { return fail(1) }
            let block = Array(file[(pos + 8)..<(pos + 8 + size)])
            if le32(block, 0) != 1 { return fail(2) }
            let time = Int64(le32(block, 68))
            if let previous {
                if Array(block[4..<36]) != previous.hash { return fail(3) }
                if time < previous.time - 7200 { return fail(4) }
            }
            switch transactions(block) {
            case .badVersion: return fail(5)
            case .malformed: return fail(6)
            case .parsed(let txids):
                if merkle(txids) != Array(block[36..<68]) { return fail(6) }
            }
            previous = (sha256d(Array(block[0..<80])), time)
            blocks += 1
            pos += 8 + size
        }
    }

    enum Transactions { case parsed([[UInt8]]), badVersion, malformed }

    /// Reads the transactions after the header, checking each version as soon as it is read.
    static func transactions(_ b: [UInt8]) -> Transactions {
        var p = 80
        var badVersion = false
        func varint() -> UInt64? {
            guard p < b.count else { return nil }
            let first = b[p]; p += 1
            let width = first == 0xfd ? 2 : first == 0xfe ? 4 : first == 0xff ? 8 : 0
            if width == 0 { return UInt64(first) }
            guard p + width <= b.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<width { v |= UInt64(b[p + i]) << (8 * UInt64(i)) }
            p += width
            return v
        }
        func skip(_ n: UInt64) -> Bool {
            guard n <= UInt64(b.count - p) else { return false }
            p += Int(n)
            return true
        }
        var txids: [[UInt8]] = []
        guard let count = varint() else { return .malformed }
        var parsed: UInt64 = 0
        parsing: while parsed < count {
            let start = p
            guard p + 4 <= b.count else { break }
            if le32(b, p) != 1 { badVersion = true }
            p += 4
            guard let inputs = varint() else { break }
            var i: UInt64 = 0
            while i < inputs {
                guard skip(36), let n = varint(), skip(n), skip(4) else { break parsing }
                i += 1
            }
            guard let outputs = varint() else { break }
            var o: UInt64 = 0
            while o < outputs {
                guard skip(8), let n = varint(), skip(n) else { break parsing }
                o += 1
            }
            guard skip(4) else { break }
            txids.append(sha256d(Array(b[start..<p])))
            parsed += 1
        }
        if badVersion { return .badVersion }
        if parsed < count || p != b.count || txids.isEmpty { return .malformed }
        return .parsed(txids)
    }

    static func merkle(_ hashes: [[UInt8]]) -> [UInt8] {
        var level = hashes
        while level.count > 1 {
            if level.count % 2 == 1 { level.append(level[level.count - 1]) }
            level = stride(from: 0, to: level.count, by: 2).map { sha256d(level[$0] + level[$0 + 1]) }
        }
        return level[0]
    }

    static func sha256d(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: Array(SHA256.hash(data: bytes))))
    }

    static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
