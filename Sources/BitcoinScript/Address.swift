public import BitcoinWire
import Crypto

/// An address, as text, and whether it is a P2PK output's derived P2PKH address (block
/// explorers show those; the output itself pays a bare key).
public struct Address: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public let isDerived: Bool

    public var description: String { text }
}

/// HASH160: RIPEMD-160 of SHA-256, the hash in P2PKH and P2SH.
public func hash160(_ bytes: some Collection<UInt8>) -> [UInt8] {
    var sha = SHA256()
    Array(bytes).withUnsafeBytes { sha.update(bufferPointer: $0) }
    return sha.finalize().withUnsafeBytes { RIPEMD160.hash($0) }
}

extension ScriptPattern {
    /// The address this pattern pays to on `network`, if it has one: Base58Check for P2PKH and
    /// P2SH, Bech32/Bech32m for witness programs, and the derived P2PKH address of a P2PK key.
    public func address(on network: ChainParameters) -> Address? {
        switch self {
        case .pubkeyHash(let hash):
            Address(text: Base58.encodeCheck([network.pubkeyHashPrefix] + hash), isDerived: false)
        case .scriptHash(let hash):
            Address(text: Base58.encodeCheck([network.scriptHashPrefix] + hash), isDerived: false)
        case .pubkey(let key):
            Address(text: Base58.encodeCheck([network.pubkeyHashPrefix] + hash160(key)), isDerived: true)
        case let .witness(version, program):
            Address(text: Bech32.encodeSegwit(hrp: network.bech32Prefix, version: version, program: program), isDerived: false)
        case .multisig, .nullData, .nonstandard:
            nil
        }
    }
}

extension Address {
    /// Parses and checks an address for `network`: Base58Check (P2PKH, P2SH) with the
    /// network's version byte, or segwit with its prefix and a valid checksum.
    /// - Returns: the output script it pays to, or nil when it is not a valid address there.
    public static func scriptPubKey(for text: String, on network: ChainParameters) -> [UInt8]? {
        if let segwit = Bech32.decodeSegwit(text), segwit.hrp == network.bech32Prefix {
            let versionOp: UInt8 = segwit.version == 0 ? 0 : Opcode.op1 + UInt8(segwit.version - 1)
            return [versionOp, UInt8(segwit.program.count)] + segwit.program
        }
        guard let payload = Base58.decodeCheck(text), payload.count == 21 else { return nil }
        let hash = payload.dropFirst()
        switch payload[0] {
        case network.pubkeyHashPrefix:
            return [Opcode.opDup, Opcode.opHash160, 20] + hash + [Opcode.opEqualVerify, Opcode.opCheckSig]
        case network.scriptHashPrefix:
            return [Opcode.opHash160, 20] + hash + [Opcode.opEqual]
        default:
            return nil
        }
    }
}

extension ScriptPattern {
    /// What Bitcoin Core's RPC said an output pays to before 22.0 (`ExtractDestinations`,
    /// the `reqSigs` and `addresses` fields, which datasets built then still use): for a
    /// single-key or script-hash or witness output, its one address and 1; for a P2PK output,
    /// its key's P2PKH address and 1; for bare multisig, each key's P2PKH address, in order,
    /// and m. Nil for OP_RETURN and non-standard scripts, which pay to no address.
    public func destinations(on network: ChainParameters) -> (required: Int, addresses: [String])? {
        switch self {
        case let .multisig(required, keys):
            (required, keys.map { Base58.encodeCheck([network.pubkeyHashPrefix] + hash160($0)) })
        case .nullData, .nonstandard:
            nil
        default:
            address(on: network).map { (1, [$0.text]) }
        }
    }
}
