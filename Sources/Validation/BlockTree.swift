public import BitcoinWire

/// The tree of known block headers and the choice of the best chain among them (Core's
/// `BlockManager` block index and `FindMostWorkChain`), as a pure value: no storage, no I/O.
///
/// Blocks are linked to their parents by previous hash in any order of arrival. Each tree
/// (a root is a block whose parent is unknown) sums the work its nBits promise from the root
/// down. A block known to break a rule is marked invalid, and so is everything built on it.
/// The best tip is the block with the most cumulative work that is not known to be invalid;
/// a tie goes to the block that arrived first (Core's `nSequenceId`).
///
/// Cost: `add` is O(1) plus the size of any subtree that was waiting for the new block;
/// `init(headers:)` links n headers in O(n); `bestTip` is O(n).
public struct BlockTree: Sendable {
    public struct Node: Sendable {
        public let hash: BlockHash
        public let previous: BlockHash
        public let bits: UInt32
        /// The parent's index, when the parent is known.
        public fileprivate(set) var parent: Int?
        /// The index of the root of this block's tree.
        public fileprivate(set) var root: Int
        /// Blocks from the root (0 for a root).
        public fileprivate(set) var depth: Int64
        /// Work of the root and every block down to this one.
        public fileprivate(set) var chainWork: UInt256
        /// The rule this block itself broke (Core's reject reason), if any.
        public fileprivate(set) var invalidReason: String?
        /// True when an ancestor is invalid (Core `BLOCK_FAILED_CHILD`).
        public fileprivate(set) var hasInvalidAncestor = false

        /// Neither the block nor any ancestor is known to be invalid.
        public var isValidSoFar: Bool { invalidReason == nil && !hasInvalidAncestor }
    }

    /// Every block, in order of arrival.
    public private(set) var nodes: [Node] = []
    private var byHash: [BlockHash: Int] = [:]
    private var children: [[Int]] = []
    /// Blocks whose parent is not known yet, by the hash they name as previous.
    private var waiting: [BlockHash: [Int]] = [:]

    public init() {}

    /// Links many headers at once, in O(n).
    /// - Parameter headers: in order of arrival; a hash that repeats keeps its first entry.
    public init(headers: some Sequence<(hash: BlockHash, previous: BlockHash, bits: UInt32, invalidReason: String?)>) {
        for header in headers where byHash[header.hash] == nil {
            byHash[header.hash] = nodes.count
            nodes.append(Node(hash: header.hash, previous: header.previous, bits: header.bits, parent: nil, root: nodes.count,
                              depth: 0, chainWork: .zero, invalidReason: header.invalidReason))
            children.append([])
        }
        for i in nodes.indices {
            if let p = byHash[nodes[i].previous], p != i {
                nodes[i].parent = p
                children[p].append(i)
            } else {
                waiting[nodes[i].previous, default: []].append(i)
            }
        }
        for i in nodes.indices where nodes[i].parent == nil { propagate(from: i) }
    }

    /// The index of the block with `hash`, if known.
    public func index(of hash: BlockHash) -> Int? { byHash[hash] }

    public subscript(i: Int) -> Node { nodes[i] }

    public var count: Int { nodes.count }

    /// The roots: blocks whose parent is unknown.
    public var roots: [Int] { nodes.indices.filter { nodes[$0].parent == nil } }

    /// Adds a block; a block already known is left as it is.
    /// - Returns: its index, and whether it is new.
    @discardableResult
    public mutating func add(hash: BlockHash, previous: BlockHash, bits: UInt32, invalidReason: String? = nil) -> (index: Int, isNew: Bool) {
        if let known = byHash[hash] { return (known, false) }
        let i = nodes.count
        byHash[hash] = i
        nodes.append(Node(hash: hash, previous: previous, bits: bits, parent: byHash[previous], root: i, depth: 0,
                          chainWork: .zero, invalidReason: invalidReason))
        children.append([])
        if let p = nodes[i].parent { children[p].append(i) } else { waiting[previous, default: []].append(i) }
        // Blocks that arrived before their parent: this block is it.
        for j in waiting.removeValue(forKey: hash) ?? [] {
            nodes[j].parent = i
            children[i].append(j)
        }
        propagate(from: i)
        return (i, true)
    }

    /// Recomputes root, depth, work and inherited invalidity below `start` (inclusive).
    private mutating func propagate(from start: Int) {
        var stack = [start]
        while let i = stack.popLast() {
            let own = CompactTarget(bits: nodes[i].bits).work
            if let p = nodes[i].parent {
                nodes[i].root = nodes[p].root
                nodes[i].depth = nodes[p].depth + 1
                nodes[i].chainWork = nodes[p].chainWork &+ own
                nodes[i].hasInvalidAncestor = !nodes[p].isValidSoFar
            } else {
                nodes[i].root = i
                nodes[i].depth = 0
                nodes[i].chainWork = own
                nodes[i].hasInvalidAncestor = false
            }
            stack.append(contentsOf: children[i])
        }
    }

    /// Marks block `i` invalid for `reason`, and every block built on it as having an invalid
    /// ancestor.
    /// - Returns: the descendants newly marked.
    @discardableResult
    public mutating func markInvalid(_ i: Int, reason: String) -> [Int] {
        nodes[i].invalidReason = reason
        var marked = [Int]()
        var stack = children[i]
        while let j = stack.popLast() {
            if !nodes[j].hasInvalidAncestor {
                nodes[j].hasInvalidAncestor = true
                marked.append(j)
            }
            stack.append(contentsOf: children[j])
        }
        return marked
    }

    /// The block with the most work among those not known invalid, in the tree of `root`
    /// (any tree when nil); ties go to the block that arrived first.
    public func bestTip(inTreeOf root: Int? = nil) -> Int? {
        var best: Int?
        for i in nodes.indices where nodes[i].isValidSoFar && (root == nil || nodes[i].root == root) {
            if let b = best, nodes[i].chainWork <= nodes[b].chainWork { continue }
            best = i
        }
        return best
    }

    /// The ancestor of `i` at `depth` (itself when its depth is that).
    public func ancestor(of i: Int, atDepth depth: Int64) -> Int? {
        guard depth >= 0, depth <= nodes[i].depth else { return nil }
        var j = i
        while nodes[j].depth > depth { j = nodes[j].parent! }
        return j
    }

    /// The way from tip `from` to tip `to`: the blocks to disconnect (from `from` down, not
    /// including the fork point) and then to connect (from the fork point up to `to`).
    /// From nil, or across trees, everything of `from`'s branch goes and all of `to`'s comes.
    public func path(from: Int?, to: Int) -> (disconnect: [Int], connect: [Int]) {
        var disconnect = [Int](), connect = [Int]()
        var a = from, b: Int? = to
        if let x = a, nodes[x].root != nodes[to].root {
            while let i = a { disconnect.append(i); a = nodes[i].parent }
        }
        while let x = a, let y = b, x != y {
            if nodes[x].depth >= nodes[y].depth {
                disconnect.append(x)
                a = nodes[x].parent
            } else {
                connect.append(y)
                b = nodes[y].parent
            }
        }
        while let y = b, a == nil { connect.append(y); b = nodes[y].parent }
        return (disconnect, connect.reversed())
    }
}
