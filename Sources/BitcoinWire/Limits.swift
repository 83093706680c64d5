/// Consensus and policy limits, each named once after its Bitcoin Core definition.
public enum Limits {
    /// `MAX_BLOCK_SERIALIZED_SIZE`: no block, witness included, is larger.
    public static let maxBlockSerializedSize = 4_000_000
    /// `MAX_BLOCK_WEIGHT`.
    public static let maxBlockWeight = 4_000_000
    /// `WITNESS_SCALE_FACTOR`.
    public static let witnessScaleFactor = 4
    /// `MAX_BLOCK_SIGOPS_COST`.
    public static let maxBlockSigOpsCost = 80_000
    /// Smallest possible transaction: version, 1-byte input and output counts, lock time.
    public static let minTransactionSize = 10
    /// Smallest possible input: outpoint, 1-byte script length, sequence.
    public static let minInputSize = 41
    /// Smallest possible output: value and 1-byte script length.
    public static let minOutputSize = 9
    /// Block header size.
    public static let headerSize = 80
    /// `COIN`.
    public static let coin: Int64 = 100_000_000
    /// `MAX_MONEY`: 21 million BTC.
    public static let maxMoney: Int64 = 21_000_000 * coin
}
