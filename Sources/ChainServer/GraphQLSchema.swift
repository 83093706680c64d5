import Graphiti
import GraphQL

/// The schema: OCAP's names (`blockByHash`, `transactionsByAddress`, …), `Long` for satoshis.
struct BitcoinAPI: API {
    let resolver: GraphResolver
    let schema: Schema<GraphResolver, GraphContext>

    static func makeSchema() throws -> Schema<GraphResolver, GraphContext> {
        try Schema<GraphResolver, GraphContext> {
            Scalar(Int64.self, as: "Long")
                .description("A 64-bit integer (satoshis, heights, sizes): GraphQL's Int is 32-bit.")
            Input(PagingInput.self, as: "PageInput") {
                InputField("cursor", at: \.cursor).description("The cursor of the previous page's `page`; empty or absent for the first.")
                InputField("size", at: \.size).description("Items per page: 25 by default, at most 100.")
            }
            Type(PageInfo.self) {
                Field("cursor", at: \.cursor)
                Field("next", at: \.next)
                Field("total", at: \.total)
            }
            Type(GraphBlock.self, as: "BitcoinBlock") {
                Field("hash", at: \.hash)
                Field("height", at: \.height)
                Field("preHash", at: \.preHash)
                Field("merkleRoot", at: \.merkleRoot)
                Field("version", at: \.version)
                Field("time", at: \.time)
                Field("medianTime", at: \.medianTime)
                Field("bits", at: \.bits)
                Field("nonce", at: \.nonce)
                Field("difficulty", at: \.difficulty)
                Field("numberTxs", at: \.numberTxs)
                Field("size", at: \.size)
                Field("weight", at: \.weight)
                Field("status", at: \.status)
                Field("inBestChain", at: \.inBestChain)
                Field("fees", at: GraphBlock.fees)
                Field("reward", at: GraphBlock.reward)
                Field("total", at: GraphBlock.total)
                Field("transactions", at: GraphBlock.transactions) { Argument("paging", at: \.paging) }
            }
            Type(GraphTransaction.self, as: "BitcoinTransaction") {
                Field("hash", at: \.hash)
                Field("blockHash", at: \.blockHash)
                Field("blockHeight", at: \.blockHeight)
                Field("index", at: \.index)
                Field("fees", at: \.fees)
                Field("size", at: \.size)
                Field("weight", at: \.weight)
                Field("virtualSize", at: \.virtualSize)
                Field("numberInputs", at: \.numberInputs)
                Field("numberOutputs", at: \.numberOutputs)
                Field("total", at: \.total)
                Field("isCoinbase", at: \.isCoinbase)
                Field("block", at: GraphTransaction.block)
                Field("lockTime", at: GraphTransaction.lockTime)
                Field("version", at: GraphTransaction.version)
                Field("witnessHash", at: GraphTransaction.witnessHash)
                Field("strippedSize", at: GraphTransaction.strippedSize)
                Field("inputs", at: GraphTransaction.inputs) { Argument("paging", at: \.paging) }
                Field("outputs", at: GraphTransaction.outputs) { Argument("paging", at: \.paging) }
            }
            Type(GraphInput.self, as: "TransactionInput") {
                Field("account", at: \.account)
                Field("value", at: \.value)
                Field("preTx", at: \.preTx)
                Field("preOutput", at: \.preOutput)
                Field("index", at: \.index)
                Field("txHash", at: \.txHash)
                Field("txIndex", at: \.txIndex)
                Field("blockHash", at: \.blockHash)
                Field("blockHeight", at: \.blockHeight)
                Field("script", at: GraphInput.script)
                Field("sequence", at: GraphInput.sequence)
            }
            Type(GraphOutput.self, as: "TransactionOutput") {
                Field("account", at: \.account)
                Field("value", at: \.value)
                Field("index", at: \.index)
                Field("scriptType", at: \.scriptType)
                Field("spentBy", at: \.spentBy)
                Field("txHash", at: \.txHash)
                Field("txIndex", at: \.txIndex)
                Field("blockHash", at: \.blockHash)
                Field("blockHeight", at: \.blockHeight)
                Field("script", at: GraphOutput.script)
            }
            Type(GraphAccount.self, as: "BitcoinAccount") {
                Field("address", at: \.address)
                Field("balance", at: \.balance)
                Field("totalAmountReceived", at: \.totalAmountReceived)
                Field("totalAmountSent", at: \.totalAmountSent)
                Field("numberTxs", at: \.numberTxs)
                Field("firstSeenHeight", at: \.firstSeenHeight)
                Field("lastSeenHeight", at: \.lastSeenHeight)
                Field("scriptType", at: GraphAccount.scriptType)
                Field("numberTxsReceived", at: GraphAccount.numberTxsReceived)
                Field("numberTxsSent", at: GraphAccount.numberTxsSent)
                Field("transactions", at: GraphAccount.transactions) { Argument("paging", at: \.paging) }
            }
            Type(BlockchainInfo.self) {
                Field("network", at: \.network)
                Field("latestHeight", at: \.latestHeight)
                Field("latestHash", at: \.latestHash)
                Field("latestTime", at: \.latestTime)
                Field("numberTxs", at: BlockchainInfo.numberTxs)
                Field("numberAddresses", at: BlockchainInfo.numberAddresses)
                Field("utxoCount", at: BlockchainInfo.utxoCount)
                Field("utxoValue", at: BlockchainInfo.utxoValue)
            }
            Type(Page<GraphBlock>.self, as: "BlockPage") { Field("data", at: \.data); Field("page", at: \.page) }
            Type(Page<GraphTransaction>.self, as: "TransactionPage") { Field("data", at: \.data); Field("page", at: \.page) }
            Type(Page<GraphInput>.self, as: "InputPage") { Field("data", at: \.data); Field("page", at: \.page) }
            Type(Page<GraphOutput>.self, as: "OutputPage") { Field("data", at: \.data); Field("page", at: \.page) }
            Type(Page<GraphAccount>.self, as: "AccountPage") { Field("data", at: \.data); Field("page", at: \.page) }
            Query {
                Field("blockByHash", at: GraphResolver.blockByHash) { Argument("hash", at: \.hash) }
                Field("blockByHeight", at: GraphResolver.blockByHeight) { Argument("height", at: \.height) }
                Field("genesisBlock", at: GraphResolver.genesisBlock)
                Field("blockchainInfo", at: GraphResolver.blockchainInfo)
                Field("listBlocks", at: GraphResolver.listBlocks) { Argument("paging", at: \.paging) }
                Field("transactionByHash", at: GraphResolver.transactionByHash) { Argument("hash", at: \.hash) }
                Field("accountByAddress", at: GraphResolver.accountByAddress) { Argument("address", at: \.address) }
                Field("transactionsByAddress", at: GraphResolver.transactionsByAddress) {
                    Argument("sender", at: \.sender)
                    Argument("receiver", at: \.receiver)
                    Argument("paging", at: \.paging)
                }
                Field("richestAccounts", at: GraphResolver.richestAccounts) { Argument("paging", at: \.paging) }
            }
        }
    }
}
