/// Opcode values and names as Bitcoin Core prints them (`GetOpName`).
public enum Opcode {
    public static let op0: UInt8 = 0x00
    public static let pushData1: UInt8 = 0x4c
    public static let pushData2: UInt8 = 0x4d
    public static let pushData4: UInt8 = 0x4e
    public static let op1Negate: UInt8 = 0x4f
    public static let op1: UInt8 = 0x51
    public static let op16: UInt8 = 0x60
    public static let opReturn: UInt8 = 0x6a
    public static let opDup: UInt8 = 0x76
    public static let opEqual: UInt8 = 0x87
    public static let opEqualVerify: UInt8 = 0x88
    public static let opHash160: UInt8 = 0xa9
    public static let opCheckSig: UInt8 = 0xac
    public static let opCheckSigVerify: UInt8 = 0xad
    public static let opCheckMultiSig: UInt8 = 0xae
    public static let opCheckMultiSigVerify: UInt8 = 0xaf

    /// The small integer an `OP_0`, `OP_1`…`OP_16` stands for.
    public static func smallInteger(_ opcode: UInt8) -> Int? {
        if opcode == op0 { return 0 }
        if (op1...op16).contains(opcode) { return Int(opcode - op1) + 1 }
        return nil
    }

    /// Core's name: "0", "-1", "1"…"16", "OP_DUP", …, "OP_UNKNOWN", "OP_INVALIDOPCODE".
    public static func name(_ opcode: UInt8) -> String { names[Int(opcode)] }

    static let names: [String] = {
        var table = [String](repeating: "OP_UNKNOWN", count: 256)
        table[0] = "0"
        table[0x4c] = "OP_PUSHDATA1"; table[0x4d] = "OP_PUSHDATA2"; table[0x4e] = "OP_PUSHDATA4"
        table[0x4f] = "-1"; table[0x50] = "OP_RESERVED"
        for n in 1...16 { table[0x50 + n] = String(n) }
        let named: [(UInt8, String)] = [
            (0x61, "NOP"), (0x62, "VER"), (0x63, "IF"), (0x64, "NOTIF"), (0x65, "VERIF"), (0x66, "VERNOTIF"),
            (0x67, "ELSE"), (0x68, "ENDIF"), (0x69, "VERIFY"), (0x6a, "RETURN"), (0x6b, "TOALTSTACK"),
            (0x6c, "FROMALTSTACK"), (0x6d, "2DROP"), (0x6e, "2DUP"), (0x6f, "3DUP"), (0x70, "2OVER"), (0x71, "2ROT"),
            (0x72, "2SWAP"), (0x73, "IFDUP"), (0x74, "DEPTH"), (0x75, "DROP"), (0x76, "DUP"), (0x77, "NIP"),
            (0x78, "OVER"), (0x79, "PICK"), (0x7a, "ROLL"), (0x7b, "ROT"), (0x7c, "SWAP"), (0x7d, "TUCK"),
            (0x7e, "CAT"), (0x7f, "SUBSTR"), (0x80, "LEFT"), (0x81, "RIGHT"), (0x82, "SIZE"), (0x83, "INVERT"),
            (0x84, "AND"), (0x85, "OR"), (0x86, "XOR"), (0x87, "EQUAL"), (0x88, "EQUALVERIFY"), (0x89, "RESERVED1"),
            (0x8a, "RESERVED2"), (0x8b, "1ADD"), (0x8c, "1SUB"), (0x8d, "2MUL"), (0x8e, "2DIV"), (0x8f, "NEGATE"),
            (0x90, "ABS"), (0x91, "NOT"), (0x92, "0NOTEQUAL"), (0x93, "ADD"), (0x94, "SUB"), (0x95, "MUL"),
            (0x96, "DIV"), (0x97, "MOD"), (0x98, "LSHIFT"), (0x99, "RSHIFT"), (0x9a, "BOOLAND"), (0x9b, "BOOLOR"),
            (0x9c, "NUMEQUAL"), (0x9d, "NUMEQUALVERIFY"), (0x9e, "NUMNOTEQUAL"), (0x9f, "LESSTHAN"),
            (0xa0, "GREATERTHAN"), (0xa1, "LESSTHANOREQUAL"), (0xa2, "GREATERTHANOREQUAL"), (0xa3, "MIN"),
            (0xa4, "MAX"), (0xa5, "WITHIN"), (0xa6, "RIPEMD160"), (0xa7, "SHA1"), (0xa8, "SHA256"),
            (0xa9, "HASH160"), (0xaa, "HASH256"), (0xab, "CODESEPARATOR"), (0xac, "CHECKSIG"),
            (0xad, "CHECKSIGVERIFY"), (0xae, "CHECKMULTISIG"), (0xaf, "CHECKMULTISIGVERIFY"), (0xb0, "NOP1"),
            (0xb1, "CHECKLOCKTIMEVERIFY"), (0xb2, "CHECKSEQUENCEVERIFY"), (0xb3, "NOP4"), (0xb4, "NOP5"),
            (0xb5, "NOP6"), (0xb6, "NOP7"), (0xb7, "NOP8"), (0xb8, "NOP9"), (0xb9, "NOP10"), (0xba, "CHECKSIGADD"),
            (0xff, "INVALIDOPCODE"),
        ]
        for (code, name) in named { table[Int(code)] = "OP_" + name }
        return table
    }()
}
