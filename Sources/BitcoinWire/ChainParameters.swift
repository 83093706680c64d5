/// Everything that tells one Bitcoin chain from another (Core `CChainParams` and
/// `Consensus::Params`): the magic that starts its blocks in blk files, its genesis block, its
/// proof-of-work and difficulty rules, its subsidy schedule, the heights at which soft forks
/// took effect, and its address prefixes.
///
/// mainnet, testnet3, testnet4, signet and regtest are instances; a new chain (a learning
/// chain, a private test network) is one more instance, and no code switches over networks.
/// Two parameter sets are the same network when they have the same name.
public struct ChainParameters: Sendable, Hashable, CustomStringConvertible {
    /// A short name: "mainnet", "testnet3", …
    public var name: String
    /// The magic, as its four file bytes read little-endian (Core `MessageStart`).
    public var magic: UInt32
    /// The hash of the genesis block.
    public var genesisHash: BlockHash
    /// The easiest target a block may have (`powLimit`).
    public var powLimit: UInt256
    /// Seconds between blocks the difficulty aims for (`nPowTargetSpacing`).
    public var targetSpacing: Int64
    /// Seconds a retarget window should take (`nPowTargetTimespan`).
    public var targetTimespan: Int64
    /// Difficulty never changes (`fPowNoRetargeting`, regtest).
    public var noRetargeting: Bool
    /// A block more than twice the spacing after its parent may use the easiest target
    /// (`fPowAllowMinDifficultyBlocks`, the testnets).
    public var allowsMinDifficultyBlocks: Bool
    /// Blocks between subsidy halvings (`nSubsidyHalvingInterval`).
    public var halvingInterval: Int64
    /// Height from which the coinbase must start with the height (`BIP34Height`).
    public var bip34Height: Int64
    /// The block at `bip34Height` on this network (`BIP34Hash`); once the chain contains it,
    /// BIP34 implies BIP30 until height 1,983,702. Nil where no such block is named.
    public var bip34Hash: BlockHash?
    /// Height from which segwit's rules apply (`SegwitHeight`).
    public var segwitHeight: Int64
    /// Blocks (height, hash) exempt from BIP30 (Core `IsBIP30Repeat`): mainnet's two
    /// coinbases that repeat an earlier one's txid.
    public var bip30Exceptions: [Int64: BlockHash]
    /// Confirmations before a coinbase output may be spent (`COINBASE_MATURITY`).
    public var coinbaseMaturity: Int64
    /// Base58Check version byte of P2PKH addresses.
    public var pubkeyHashPrefix: UInt8
    /// Base58Check version byte of P2SH addresses.
    public var scriptHashPrefix: UInt8
    /// Human-readable part of segwit (Bech32/Bech32m) addresses.
    public var bech32Prefix: String

    public init(name: String, magic: UInt32, genesisHash: BlockHash, powLimit: UInt256, targetSpacing: Int64,
                targetTimespan: Int64, noRetargeting: Bool, allowsMinDifficultyBlocks: Bool, halvingInterval: Int64,
                bip34Height: Int64, bip34Hash: BlockHash?, segwitHeight: Int64, bip30Exceptions: [Int64: BlockHash] = [:],
                coinbaseMaturity: Int64 = 100, pubkeyHashPrefix: UInt8, scriptHashPrefix: UInt8, bech32Prefix: String) {
        self.name = name
        self.magic = magic
        self.genesisHash = genesisHash
        self.powLimit = powLimit
        self.targetSpacing = targetSpacing
        self.targetTimespan = targetTimespan
        self.noRetargeting = noRetargeting
        self.allowsMinDifficultyBlocks = allowsMinDifficultyBlocks
        self.halvingInterval = halvingInterval
        self.bip34Height = bip34Height
        self.bip34Hash = bip34Hash
        self.segwitHeight = segwitHeight
        self.bip30Exceptions = bip30Exceptions
        self.coinbaseMaturity = coinbaseMaturity
        self.pubkeyHashPrefix = pubkeyHashPrefix
        self.scriptHashPrefix = scriptHashPrefix
        self.bech32Prefix = bech32Prefix
    }

    public var description: String { name }

    public static func == (a: ChainParameters, b: ChainParameters) -> Bool { a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// Blocks per difficulty window (`DifficultyAdjustmentInterval`).
    public var retargetInterval: Int64 { targetTimespan / targetSpacing }

    /// How far past the node's clock a block's time may be (Core `MAX_FUTURE_BLOCK_TIME`: two
    /// hours, twelve ten-minute spacings), scaled to this network's spacing.
    public var maxFutureBlockTime: Int64 { 12 * targetSpacing }

    /// Blocks whose median time a new block must exceed (Core `CBlockIndex::nMedianTimeSpan`).
    public static let medianTimeSpan = 11

    /// The new coins a block at `height` may create (Core `GetBlockSubsidy`): 50 BTC, halved
    /// every `halvingInterval` blocks, zero after 64 halvings.
    public func subsidy(atHeight height: Int64) -> Int64 {
        let halvings = height / halvingInterval
        guard halvings < 64 else { return 0 }
        return (50 * Limits.coin) >> halvings
    }

    /// Whether BIP30 (no transaction may repeat the txid of one with unspent outputs) applies
    /// to the block at `height` with `hash` (Core `ConnectBlock`'s `fEnforceBIP30`).
    /// - Parameter bip34BlockHash: the hash of the chain's block at `bip34Height`, if it has one.
    public func enforcesBIP30(height: Int64, hash: BlockHash, bip34BlockHash: BlockHash?) -> Bool {
        if let exception = bip30Exceptions[height], exception == hash { return false }
        if let bip34Hash, bip34BlockHash == bip34Hash, height >= bip34Height,
           height < ChainParameters.bip34ImpliesBIP30Limit {
            return false
        }
        return true
    }

    /// Core `BIP34_IMPLIES_BIP30_LIMIT`: from here on coinbases may repeat early heights'.
    public static let bip34ImpliesBIP30Limit: Int64 = 1_983_702

    /// The networks Bitcoin Core knows, each with its own magic.
    public static let known: [ChainParameters] = [.mainnet, .testnet3, .testnet4, .signet, .regtest, .learning]

    /// The known network whose blocks start with `magic`, if any.
    public static func known(magic: UInt32) -> ChainParameters? { known.first { $0.magic == magic } }

    /// The known network called `name`, if any.
    public static func known(name: String) -> ChainParameters? { known.first { $0.name == name } }

    private static func hash(_ hex: String) -> BlockHash { Hash256(displayHex: hex)! }
    private static func limit(_ hex: String) -> UInt256 { UInt256(hex: hex)! }
    private static let mainLimit = limit("00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff")

    public static let mainnet = ChainParameters(
        name: "mainnet", magic: 0xD9B4_BEF9,  // f9 be b4 d9
        genesisHash: hash("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"),
        powLimit: mainLimit, targetSpacing: 600, targetTimespan: 14 * 24 * 3600,
        noRetargeting: false, allowsMinDifficultyBlocks: false, halvingInterval: 210_000,
        bip34Height: 227_931, bip34Hash: hash("000000000000024b89b42a942fe0d9fea3bb44ab7bd1b19115dd6a759c0808b8"),
        segwitHeight: 481_824,
        bip30Exceptions: [91_842: hash("00000000000a4d0a398161ffc163c503763b1f4360639393e0e4c8e300e0caec"),
                          91_880: hash("00000000000743f190a18c5577a3c2d2a1f610ae9601ac046a38084ccb7cd721")],
        pubkeyHashPrefix: 0x00, scriptHashPrefix: 0x05, bech32Prefix: "bc")

    public static let testnet3 = ChainParameters(
        name: "testnet3", magic: 0x0709_110B,  // 0b 11 09 07
        genesisHash: hash("000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"),
        powLimit: mainLimit, targetSpacing: 600, targetTimespan: 14 * 24 * 3600,
        noRetargeting: false, allowsMinDifficultyBlocks: true, halvingInterval: 210_000,
        bip34Height: 21_111, bip34Hash: hash("0000000023b3a96d3484e5abb3755c413e7d41500f8e2a5c3f0dd01299cd8ef8"),
        segwitHeight: 834_624, pubkeyHashPrefix: 0x6f, scriptHashPrefix: 0xc4, bech32Prefix: "tb")

    public static let testnet4 = ChainParameters(
        name: "testnet4", magic: 0x283F_161C,  // 1c 16 3f 28
        genesisHash: hash("00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043"),
        powLimit: mainLimit, targetSpacing: 600, targetTimespan: 14 * 24 * 3600,
        noRetargeting: false, allowsMinDifficultyBlocks: true, halvingInterval: 210_000,
        bip34Height: 1, bip34Hash: nil, segwitHeight: 1,
        pubkeyHashPrefix: 0x6f, scriptHashPrefix: 0xc4, bech32Prefix: "tb")

    public static let signet = ChainParameters(
        name: "signet", magic: 0x40CF_030A,  // 0a 03 cf 40 (the default signet)
        genesisHash: hash("00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"),
        powLimit: limit("00000377ae000000000000000000000000000000000000000000000000000000"),
        targetSpacing: 600, targetTimespan: 14 * 24 * 3600,
        noRetargeting: false, allowsMinDifficultyBlocks: false, halvingInterval: 210_000,
        bip34Height: 1, bip34Hash: nil, segwitHeight: 1,
        pubkeyHashPrefix: 0x6f, scriptHashPrefix: 0xc4, bech32Prefix: "tb")

    public static let regtest = ChainParameters(
        name: "regtest", magic: 0xDAB5_BFFA,  // fa bf b5 da
        genesisHash: hash("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"),
        powLimit: limit("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        targetSpacing: 600, targetTimespan: 14 * 24 * 3600,
        noRetargeting: true, allowsMinDifficultyBlocks: true, halvingInterval: 150,
        bip34Height: 1, bip34Hash: nil, segwitHeight: 0,
        pubkeyHashPrefix: 0x6f, scriptHashPrefix: 0xc4, bech32Prefix: "bcrt")

    /// `blocksmith chain`'s learning network: Bitcoin's rules and formats, scaled so a laptop
    /// finds a block every few seconds. A block every 5 s, retargeting every 20 blocks (a
    /// 100 s window, clamped to 25–400 s as Core clamps to ¼–4×), a proof-of-work limit of
    /// three leading hex zeros, a genesis block of five (the tutorial's difficulty), BIP34 from
    /// the genesis block on. The limit keeps Core's retarget product (target × 400 s) inside
    /// 256 bits, as mainnet's does.
    public static let learning = ChainParameters(
        name: "learning", magic: 0x938E_9FF0,  // f0 9f 8e 93: the UTF-8 bytes of a graduation cap
        genesisHash: hash("00000f985cdd02b7e364fafe9f37ef6e4d3f19e86b853f26405806f3f1b9694c"),
        powLimit: limit("000fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        targetSpacing: 5, targetTimespan: 100,
        noRetargeting: false, allowsMinDifficultyBlocks: false, halvingInterval: 210_000,
        bip34Height: 0, bip34Hash: nil, segwitHeight: 0,
        pubkeyHashPrefix: 0x6f, scriptHashPrefix: 0xc4, bech32Prefix: "lrn")
}
