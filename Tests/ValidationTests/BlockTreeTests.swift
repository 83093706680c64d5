import Testing
import BitcoinWire
@testable import Validation

/// The fork choice on its own: linking in any order, work, ties, invalid marks, paths.
@Suite struct BlockTreeTests {
    /// Hashes for made-up blocks: 1, 2, 3, …
    static func h(_ n: UInt8) -> BlockHash { SHA256d.hash([n]) }
    static let easy: UInt32 = 0x207f_ffff  // work 2
    static let hard: UInt32 = 0x1d00_ffff  // work 0x100010001

    /// 1 ← 2 ← 3 ← 4 and 2 ← 5 ← 6 (the branch at 5 is one block shorter and came later).
    static let edges: [(UInt8, UInt8)] = [(1, 0), (2, 1), (3, 2), (4, 3), (5, 2), (6, 5)]

    @Test(arguments: [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [3, 0, 5, 1, 4, 2]])
    func addingInAnyOrderLinksTheSameTree(order: [Int]) {
        var tree = BlockTree()
        for i in order {
            let (hash, parent) = Self.edges[i]
            tree.add(hash: Self.h(hash), previous: Self.h(parent), bits: Self.easy)
        }
        let bulk = BlockTree(headers: Self.edges.map { (Self.h($0.0), Self.h($0.1), Self.easy, nil) })
        for t in [tree, bulk] {
            #expect(t.roots.map { t[$0].hash } == [Self.h(1)])
            let four = t.index(of: Self.h(4))!, six = t.index(of: Self.h(6))!
            #expect(t[four].depth == 3 && t[six].depth == 3 && t[four].chainWork == UInt256(8))
            // Equal work: the block that arrived first wins.
            #expect(t.bestTip() == min(four, six))
        }
    }

    @Test func moreWorkBeatsMoreBlocks() {
        var tree = BlockTree()
        tree.add(hash: Self.h(1), previous: .zero, bits: Self.easy)
        tree.add(hash: Self.h(2), previous: Self.h(1), bits: Self.easy)
        tree.add(hash: Self.h(3), previous: Self.h(2), bits: Self.easy)
        let heavy = tree.add(hash: Self.h(4), previous: Self.h(1), bits: Self.hard).index
        #expect(tree.bestTip() == heavy)
        let again = tree.add(hash: Self.h(4), previous: Self.h(1), bits: Self.hard)
        #expect(!again.isNew && again.index == heavy && tree.count == 4)
    }

    @Test func invalidBlocksAndTheirDescendantsAreNeverTheTip() {
        var tree = BlockTree(headers: Self.edges.map { (Self.h($0.0), Self.h($0.1), Self.easy, nil) })
        let three = tree.index(of: Self.h(3))!, four = tree.index(of: Self.h(4))!, six = tree.index(of: Self.h(6))!
        let marked = tree.markInvalid(three, reason: "bad-cb-amount")
        #expect(marked == [four])
        #expect(tree[four].hasInvalidAncestor && !tree[four].isValidSoFar && tree[three].invalidReason == "bad-cb-amount")
        #expect(tree.bestTip() == six)
        // A block that arrives on an invalid branch inherits it.
        let late = tree.add(hash: Self.h(7), previous: Self.h(4), bits: Self.hard).index
        #expect(tree[late].hasInvalidAncestor && tree.bestTip() == six)
        // Stored marks survive a reload.
        let reloaded = BlockTree(headers: [(Self.h(1), .zero, Self.easy, nil), (Self.h(2), Self.h(1), Self.easy, "bad-txns-BIP30"),
                                           (Self.h(3), Self.h(2), Self.hard, nil)])
        #expect(reloaded.bestTip() == 0 && reloaded[2].hasInvalidAncestor)
    }

    @Test func pathGoesDownToTheForkThenUp() {
        let tree = BlockTree(headers: Self.edges.map { (Self.h($0.0), Self.h($0.1), Self.easy, nil) })
        func i(_ n: UInt8) -> Int { tree.index(of: Self.h(n))! }
        let (down, up) = tree.path(from: i(4), to: i(6))
        #expect(down == [i(4), i(3)] && up == [i(5), i(6)])
        #expect(tree.path(from: nil, to: i(4)).connect == [i(1), i(2), i(3), i(4)])
        #expect(tree.path(from: i(4), to: i(2)) == ([i(4), i(3)], []))
        #expect(tree.path(from: i(2), to: i(4)) == ([], [i(3), i(4)]))
        #expect(tree.ancestor(of: i(6), atDepth: 1) == i(2) && tree.ancestor(of: i(6), atDepth: 4) == nil)
        // Across trees: all of one goes, all of the other comes.
        var two = tree
        let other = two.add(hash: Self.h(9), previous: Self.h(99), bits: Self.easy).index
        #expect(two.path(from: i(2), to: other) == ([i(2), i(1)], [other]))
    }
}
