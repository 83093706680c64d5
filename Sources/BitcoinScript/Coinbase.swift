public import BitcoinWire

extension Block {
    /// The readable text in the coinbase script: in each pushed item (the BIP34 height
    /// aside), runs of at least four printable ASCII characters, joined by spaces; where a
    /// push runs past the end, its raw bytes are read the same way. The genesis block's is
    /// "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks".
    public var coinbaseText: String {
        guard let coinbase = transactions.first, coinbase.isCoinbase else { return "" }
        let script = coinbase.inputs[0].scriptSig
        var runs = [String]()
        var skipHeight = bip34Height != nil
        var instructions = Script(script).instructions
        var rest: ArraySlice<UInt8> = []
        while let instruction = instructions.next() {
            switch instruction {
            case let .push(_, data):
                if skipHeight { skipHeight = false; continue }
                Block.printableRuns(data, into: &runs)
            case .op:
                skipHeight = false
            case .truncatedPush:
                rest = script[instructions.position...]
            }
        }
        Block.printableRuns(rest, into: &runs)
        return runs.joined(separator: " ")
    }

    static func printableRuns(_ bytes: ArraySlice<UInt8>, into runs: inout [String]) {
        var start = bytes.startIndex
        for i in bytes.indices where !(0x20...0x7e).contains(bytes[i]) {
            if i - start >= 4 { runs.append(String(decoding: bytes[start..<i], as: UTF8.self)) }
            start = i + 1
        }
        if bytes.endIndex - start >= 4 { runs.append(String(decoding: bytes[start...], as: UTF8.self)) }
    }
}

extension Script {
    /// The data an OP_RETURN output carries: the bytes of every push after OP_RETURN, joined;
    /// nil when the script is not OP_RETURN followed by pushes only.
    public var nullData: [UInt8]? {
        var instructions = self.instructions
        guard case .op(0x6a)? = instructions.next() else { return nil }
        var data = [UInt8]()
        while let instruction = instructions.next() {
            guard case let .push(_, bytes) = instruction else { return nil }
            data += bytes
        }
        return data
    }

    /// `nullData` as text, when it is non-empty UTF-8 without control characters.
    public var nullDataText: String? {
        guard let data = nullData, !data.isEmpty, let text = String(validating: data, as: UTF8.self),
              !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
        return text
    }
}
