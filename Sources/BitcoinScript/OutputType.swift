/// What an output script is, named as Bitcoin Core's RPC names it (`GetTxnOutputType`).
public enum OutputType: String, Sendable, Hashable, CaseIterable {
    case pubkey, pubkeyhash, scripthash, multisig, nulldata, anchor, nonstandard
    case witnessV0KeyHash = "witness_v0_keyhash"
    case witnessV0ScriptHash = "witness_v0_scripthash"
    case witnessV1Taproot = "witness_v1_taproot"
    case witnessUnknown = "witness_unknown"

    /// The short name people use: P2PK, P2PKH, P2SH, P2WPKH, P2WSH, P2TR, …
    public var shortName: String {
        switch self {
        case .pubkey: "P2PK"
        case .pubkeyhash: "P2PKH"
        case .scripthash: "P2SH"
        case .witnessV0KeyHash: "P2WPKH"
        case .witnessV0ScriptHash: "P2WSH"
        case .witnessV1Taproot: "P2TR"
        case .anchor: "P2A"
        case .multisig: "multisig"
        case .nulldata: "OP_RETURN"
        case .witnessUnknown: "witness"
        case .nonstandard: "nonstandard"
        }
    }
}

/// An output script's type and the parts its address and description come from; slices of
/// the script, so classifying allocates nothing (multisig's key list aside).
public enum ScriptPattern: Sendable, Hashable {
    case pubkey(ArraySlice<UInt8>)
    case pubkeyHash(ArraySlice<UInt8>)
    case scriptHash(ArraySlice<UInt8>)
    case witness(version: Int, program: ArraySlice<UInt8>)
    case multisig(required: Int, keys: [ArraySlice<UInt8>])
    case nullData
    case nonstandard

    public var type: OutputType {
        switch self {
        case .pubkey: .pubkey
        case .pubkeyHash: .pubkeyhash
        case .scriptHash: .scripthash
        case .multisig: .multisig
        case .nullData: .nulldata
        case .nonstandard: .nonstandard
        case let .witness(version, program):
            switch (version, program.count) {
            case (0, 20): .witnessV0KeyHash
            case (0, 32): .witnessV0ScriptHash
            case (0, _): .nonstandard
            case (1, 32): .witnessV1Taproot
            case (1, 2) where program.elementsEqual([0x4e, 0x73]): .anchor
            default: .witnessUnknown
            }
        }
    }
}

extension Script {
    /// Classifies an output script as Core's `Solver` does, in its order.
    public var pattern: ScriptPattern {
        let b = bytes, s = bytes.startIndex, n = bytes.count
        if n == 23 && b[s] == Opcode.opHash160 && b[s + 1] == 20 && b[s + 22] == Opcode.opEqual {
            return .scriptHash(b[(s + 2)..<(s + 22)])
        }
        if (4...42).contains(n), let version = Opcode.smallInteger(b[s]), Int(b[s + 1]) + 2 == n {
            let pattern = ScriptPattern.witness(version: version, program: b[(s + 2)...])
            return pattern.type == .nonstandard ? .nonstandard : pattern
        }
        if n >= 1 && b[s] == Opcode.opReturn && Script.isPushOnly(b[(s + 1)...]) { return .nullData }
        if (n == 67 || n == 35) && Int(b[s]) == n - 2 && b[s + n - 1] == Opcode.opCheckSig,
           Script.isValidKeySize(b[(s + 1)..<(s + n - 1)]) {
            return .pubkey(b[(s + 1)..<(s + n - 1)])
        }
        if n == 25 && b[s] == Opcode.opDup && b[s + 1] == Opcode.opHash160 && b[s + 2] == 20
            && b[s + 23] == Opcode.opEqualVerify && b[s + 24] == Opcode.opCheckSig {
            return .pubkeyHash(b[(s + 3)..<(s + 23)])
        }
        if let multisig = multisig { return multisig }
        return .nonstandard
    }

    /// Core `MatchMultisig`: m, the keys, n, OP_CHECKMULTISIG, nothing else.
    var multisig: ScriptPattern? {
        guard bytes.last == Opcode.opCheckMultiSig else { return nil }
        var instructions = self.instructions
        guard let first = instructions.next(), let required = Script.multisigNumber(first, minimum: 1) else { return nil }
        var keys = [ArraySlice<UInt8>]()
        var next = instructions.next()
        while case let .push(_, data)? = next, Script.isValidKeySize(data) {
            keys.append(data)
            next = instructions.next()
        }
        guard let last = next, let count = Script.multisigNumber(last, minimum: required), count == keys.count,
              instructions.next() == .op(Opcode.opCheckMultiSig), instructions.next() == nil
        else { return nil }
        return .multisig(required: required, keys: keys)
    }

    /// Core `GetScriptNumber` for multisig counts: OP_1…OP_16, or a minimally pushed number, in minimum...20.
    static func multisigNumber(_ instruction: Instruction, minimum: Int) -> Int? {
        let value: Int
        switch instruction {
        case .op(let opcode):
            guard let small = Opcode.smallInteger(opcode), opcode != Opcode.op0 else { return nil }
            value = small
        case let .push(opcode, data):
            // A minimal push of a number: one byte above 16 (smaller ones have their own opcodes).
            guard opcode == 1, data.count == 1, data.first! > 16, data.first! < 0x80 else { return nil }
            value = Int(data.first!)
        case .truncatedPush:
            return nil
        }
        return (minimum...20).contains(value) ? value : nil
    }

    /// Core `CPubKey::ValidSize`: 33 bytes starting 02/03, or 65 starting 04/06/07.
    static func isValidKeySize(_ key: ArraySlice<UInt8>) -> Bool {
        switch key.first {
        case 2, 3: key.count == 33
        case 4, 6, 7: key.count == 65
        default: false
        }
    }
}
