import BitcoinWire

extension Script {
    /// The script as Bitcoin Core's `ScriptToAsmStr` writes it: pushes of up to 4 bytes as
    /// numbers, longer ones as hex, other opcodes by name, and `[error]` where a push runs
    /// past the end.
    ///
    /// - Parameter decodingSighash: as Core does for scriptSigs, write a pushed signature
    ///   that is strict DER with a defined hash type as its hex without the last byte,
    ///   followed by the type, e.g. `…[ALL]`.
    public func asm(decodingSighash: Bool = false) -> String {
        var out = [UInt8]()
        writeASM(into: &out, decodingSighash: decodingSighash)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the ASM text (ASCII only: digits, hex, names, brackets) to `out`; lets a caller
    /// reuse one buffer for many scripts.
    public func writeASM(into out: inout [UInt8], decodingSighash: Bool = false) {
        out.reserveCapacity(out.count + 2 * bytes.count + 16)
        let attemptSighash = decodingSighash && !isUnspendable
        var first = true
        for instruction in instructions {
            if !first { out.append(UInt8(ascii: " ")) }
            first = false
            switch instruction {
            case let .push(_, data):
                if data.count <= 4 {
                    Script.appendDecimal(Script.number(data), to: &out)
                } else if attemptSighash, let type = Script.sighashName(ofSignature: data) {
                    Script.appendHex(data.dropLast(), to: &out)
                    out.append(UInt8(ascii: "["))
                    out.append(contentsOf: type.utf8)
                    out.append(UInt8(ascii: "]"))
                } else {
                    Script.appendHex(data, to: &out)
                }
            case .op(let opcode):
                out.append(contentsOf: Opcode.name(opcode).utf8)
            case .truncatedPush:
                out.append(contentsOf: "[error]".utf8)
            }
        }
    }

    static func appendHex(_ data: ArraySlice<UInt8>, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 2 * data.count))
        out.withUnsafeMutableBufferPointer { buffer in
            data.withUnsafeBytes { Hex.write($0, to: buffer.baseAddress! + start) }
        }
    }

    /// A minimal little-endian number with a sign bit (Core `CScriptNum`), for up to 8 bytes.
    public static func number(_ bytes: ArraySlice<UInt8>) -> Int64 {
        guard let last = bytes.last else { return 0 }
        var value: UInt64 = 0
        for (i, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        guard last & 0x80 != 0 else { return Int64(bitPattern: value) }
        value &= ~(UInt64(0x80) << (8 * UInt64(bytes.count - 1)))
        return -Int64(bitPattern: value)
    }

    /// The hash type name of a signature that passes Core's strict encoding checks
    /// (BIP66 DER, defined hash type), else nil.
    static func sighashName(ofSignature sig: ArraySlice<UInt8>) -> String? {
        guard sig.count >= 9, sig.count <= 73, isStrictDER(sig), let type = sig.last else { return nil }
        switch type {
        case 0x01: return "ALL"
        case 0x02: return "NONE"
        case 0x03: return "SINGLE"
        case 0x81: return "ALL|ANYONECANPAY"
        case 0x82: return "NONE|ANYONECANPAY"
        case 0x83: return "SINGLE|ANYONECANPAY"
        default: return nil
        }
    }

    /// BIP66 `IsValidSignatureEncoding`: DER, with the hash type byte at the end.
    static func isStrictDER(_ signature: ArraySlice<UInt8>) -> Bool {
        let count = signature.count
        guard count >= 9, count <= 73 else { return false }
        return signature.withUnsafeBufferPointer { sig in
            guard sig[0] == 0x30, Int(sig[1]) == count - 3 else { return false }
            let lenR = Int(sig[3])
            guard 5 + lenR < count else { return false }
            let lenS = Int(sig[5 + lenR])
            guard lenR + lenS + 7 == count, sig[2] == 0x02, lenR != 0, sig[4] & 0x80 == 0,
                  !(lenR > 1 && sig[4] == 0 && sig[5] & 0x80 == 0),
                  sig[lenR + 4] == 0x02, lenS != 0, sig[lenR + 6] & 0x80 == 0,
                  !(lenS > 1 && sig[lenR + 6] == 0 && sig[lenR + 7] & 0x80 == 0)
            else { return false }
            return true
        }
    }

    /// Appends `value` in decimal, without making a String.
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(48 + magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }
}

extension Script {
    /// The script as esplora (rust-bitcoin) writes it: every push with its opcode
    /// (`OP_PUSHBYTES_20 …`, `OP_PUSHDATA1 …`, `OP_0`), small numbers as `OP_PUSHNUM_N`,
    /// `OP_CLTV`/`OP_CSV`, unassigned opcodes as `OP_RETURN_N`, and `<unexpected end>` where
    /// a push runs past the end.
    public func esploraASM() -> String {
        var out = [UInt8]()
        writeEsploraASM(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the esplora ASM text (ASCII only) to `out`.
    public func writeEsploraASM(into out: inout [UInt8]) {
        var first = true
        func word(_ text: String) {
            if !first { out.append(UInt8(ascii: " ")) }
            first = false
            out.append(contentsOf: text.utf8)
        }
        for instruction in instructions {
            switch instruction {
            case let .push(opcode, data):
                let name = switch opcode {
                case 0: "OP_0"
                case Opcode.pushData1: "OP_PUSHDATA1"
                case Opcode.pushData2: "OP_PUSHDATA2"
                case Opcode.pushData4: "OP_PUSHDATA4"
                default: "OP_PUSHBYTES_\(opcode)"
                }
                word(name)
                if !data.isEmpty {
                    out.append(UInt8(ascii: " "))
                    Script.appendHex(data, to: &out)
                }
            case .op(let opcode):
                word(Self.esploraName(opcode))
            case .truncatedPush(let opcode):
                word((opcode < Opcode.pushData1 ? "OP_PUSHBYTES_\(opcode)" : Opcode.name(opcode)) + " <unexpected end>")
            }
        }
    }

    static func esploraName(_ opcode: UInt8) -> String {
        switch opcode {
        case 0x4f: "OP_PUSHNUM_NEG1"
        case 0x51...0x60: "OP_PUSHNUM_\(opcode - 0x50)"
        case 0xb1: "OP_CLTV"
        case 0xb2: "OP_CSV"
        case 0xba: "OP_CHECKSIGADD"
        case 0xbb...0xfe: "OP_RETURN_\(opcode)"
        case 0xff: "OP_INVALIDOPCODE"
        default: Opcode.name(opcode)
        }
    }

    /// esplora's name for an output script's type: `p2pk`, `p2pkh`, `p2sh`, `v0_p2wpkh`,
    /// `v0_p2wsh`, `v1_p2tr`, `op_return`, `empty` or `unknown`.
    public var esploraType: String {
        if bytes.isEmpty { return "empty" }
        if bytes.first == Opcode.opReturn { return "op_return" }
        return switch pattern.type {
        case .pubkey: "p2pk"
        case .pubkeyhash: "p2pkh"
        case .scripthash: "p2sh"
        case .witnessV0KeyHash: "v0_p2wpkh"
        case .witnessV0ScriptHash: "v0_p2wsh"
        case .witnessV1Taproot: "v1_p2tr"
        default: "unknown"
        }
    }
}
