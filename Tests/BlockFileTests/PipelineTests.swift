import Synchronization
import Testing
@testable import BlockFile

/// The consumer's count, read by the producer on worker threads.
final class Consumed: Sendable {
    let count = Mutex(0)
}

@Suite struct PipelineTests {
    /// Results arrive in production order, with the producer never more than `window` ahead.
    @Test(arguments: [1, 2, 4])
    func orderAndWindow(workers: Int) throws {
        var next = 0
        var maxAhead = 0
        let consumed = Consumed()
        var seen = [Int]()
        try orderedParallelMap(workers: workers, window: 3, produce: { () -> Int? in
            maxAhead = max(maxAhead, next - consumed.count.withLock { $0 })
            guard next < 500 else { return nil }
            defer { next += 1 }
            return next
        }, transform: { item in
            if item % 7 == 0 { for _ in 0..<(item * 50) { _ = 0 } }  // uneven work
            return item * 2
        }, consume: { output in
            seen.append(output)
            consumed.count.withLock { $0 += 1 }
            return true
        })
        #expect(seen == (0..<500).map { $0 * 2 })
        // The window is max(window, workers); this count lags the pipeline's by the item in hand.
        #expect(maxAhead <= max(3, workers) + 1)
        if workers == 1 { #expect(maxAhead == 0) }  // one worker runs in the caller, one item at a time
    }

    @Test func stopsEarly() throws {
        var produced = 0
        var seen = [Int]()
        try orderedParallelMap(workers: 2, window: 4, produce: { () -> Int? in
            produced += 1
            return produced
        }, transform: { $0 }, consume: { output in
            seen.append(output)
            return output < 10
        })
        #expect(seen == Array(1...10))
        #expect(produced < 20)
    }

    struct Failure: Error {}

    @Test func consumerErrorsPropagate() {
        #expect(throws: Failure.self) {
            try orderedParallelMap(workers: 2, window: 2, produce: { 1 }, transform: { $0 }, consume: { _ in throw Failure() })
        }
    }
}
