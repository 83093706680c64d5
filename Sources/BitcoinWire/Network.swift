/// The Bitcoin networks, told apart by the magic bytes that start every block in their blk
/// files (Core `CChainParams::MessageStart`).
public enum Network: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case mainnet, testnet3, testnet4, signet, regtest

    /// The magic, as its four file bytes read little-endian.
    public var magic: UInt32 {
        switch self {
        case .mainnet: 0xD9B4_BEF9   // f9 be b4 d9
        case .testnet3: 0x0709_110B  // 0b 11 09 07
        case .testnet4: 0x283F_161C  // 1c 16 3f 28
        case .signet: 0x40CF_030A    // 0a 03 cf 40 (the default signet)
        case .regtest: 0xDAB5_BFFA   // fa bf b5 da
        }
    }

    /// The network whose blocks start with `magic`, if any.
    public init?(magic: UInt32) {
        guard let network = Network.allCases.first(where: { $0.magic == magic }) else { return nil }
        self = network
    }

    /// The hash of the network's genesis block.
    public var genesisHash: BlockHash {
        let hex = switch self {
        case .mainnet: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        case .testnet3: "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"
        case .testnet4: "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043"
        case .signet: "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"
        case .regtest: "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
        }
        return Hash256(displayHex: hex)!
    }

    /// The height from which segwit's rules apply (Core `consensus.SegwitHeight`).
    public var segwitHeight: Int64 {
        switch self {
        case .mainnet: 481_824
        case .testnet3: 834_624
        case .testnet4, .signet: 1
        case .regtest: 0
        }
    }

    public var description: String { rawValue }
}
