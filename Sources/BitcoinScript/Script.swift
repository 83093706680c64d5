import BitcoinWire

/// A script: just bytes. Bad scripts exist on chain, so nothing here ever fails to read one;
/// a push that runs past the end is reported as an instruction of its own.
public struct Script: Sendable, Hashable {
    public let bytes: ArraySlice<UInt8>

    public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    /// One step of a script.
    public enum Instruction: Sendable, Hashable {
        /// An opcode that pushes `data` (a slice of the script, possibly empty), including OP_0.
        case push(opcode: UInt8, data: ArraySlice<UInt8>)
        /// Any other opcode.
        case op(UInt8)
        /// A push whose length or data runs past the end of the script; nothing follows it.
        case truncatedPush(opcode: UInt8)
    }

    /// The instructions, read lazily (Core `GetScriptOp`); no allocation per instruction.
    public var instructions: Instructions { Instructions(bytes: bytes) }

    public struct Instructions: Sequence, IteratorProtocol, Sendable {
        let bytes: ArraySlice<UInt8>
        public internal(set) var position: Int
        var done = false

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        public mutating func next() -> Instruction? {
            guard !done, position < bytes.endIndex else { return nil }
            let opcode = bytes[position]
            position += 1
            guard opcode <= Opcode.pushData4 else { return .op(opcode) }
            let left = bytes.endIndex - position
            var length: Int
            switch opcode {
            case Opcode.pushData1:
                guard left >= 1 else { return truncated(opcode) }
                length = Int(bytes[position]); position += 1
            case Opcode.pushData2:
                guard left >= 2 else { return truncated(opcode) }
                length = Int(bytes[position]) | Int(bytes[position + 1]) << 8; position += 2
            case Opcode.pushData4:
                guard left >= 4 else { return truncated(opcode) }
                length = 0
                for i in 0..<4 { length |= Int(bytes[position + i]) << (8 * i) }
                position += 4
            default:
                length = Int(opcode)
            }
            guard length <= bytes.endIndex - position else { return truncated(opcode) }
            defer { position += length }
            return .push(opcode: opcode, data: bytes[position..<(position + length)])
        }

        mutating func truncated(_ opcode: UInt8) -> Instruction {
            done = true
            return .truncatedPush(opcode: opcode)
        }
    }

    /// True when every instruction is a push (OP_1NEGATE and OP_1…OP_16 count as pushes, as in Core).
    public var isPushOnly: Bool { Script.isPushOnly(bytes) }

    static func isPushOnly(_ bytes: ArraySlice<UInt8>) -> Bool {
        for instruction in Instructions(bytes: bytes) {
            switch instruction {
            case .push: continue
            case .op(let opcode): if opcode > Opcode.op16 { return false }
            case .truncatedPush: return false
            }
        }
        return true
    }

    /// Core `IsUnspendable`: starts with OP_RETURN or is longer than 10,000 bytes.
    public var isUnspendable: Bool { bytes.first == Opcode.opReturn || bytes.count > 10_000 }
}

extension Script {
    /// Core `GetSigOpCount(false)`, the legacy count: OP_CHECKSIG and OP_CHECKSIGVERIFY count
    /// 1, OP_CHECKMULTISIG and OP_CHECKMULTISIGVERIFY 20; counting stops at a truncated push.
    public var legacySigOpCount: Int {
        var count = 0
        for instruction in instructions {
            switch instruction {
            case .op(Opcode.opCheckSig), .op(Opcode.opCheckSigVerify): count += 1
            case .op(Opcode.opCheckMultiSig), .op(Opcode.opCheckMultiSigVerify): count += 20
            case .truncatedPush: return count
            default: break
            }
        }
        return count
    }
}
