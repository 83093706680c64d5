#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Runs `transform` over `0..<count` on `workers` threads and hands the results to
/// `consume` on the calling thread strictly in index order, with at most `window` results
/// in flight, so memory stays bounded however large `count` is.
///
/// `consume` returns false to stop early; workers then finish the item in hand and quit.
/// - Throws: whatever `consume` throws, after every worker has stopped.
package func orderedParallelMap<Output: Sendable>(
    count: Int, workers: Int, window: Int,
    transform: @escaping @Sendable (Int) -> Output,
    consume: (Int, Output) throws -> Bool
) throws {
    guard count > 0 else { return }
    if workers <= 1 || count == 1 {
        for i in 0..<count where try !consume(i, transform(i)) { return }
        return
    }
    let state = PipelineState<Output>(window: max(window, workers))
    let group = DispatchGroup()
    for _ in 0..<workers {
        DispatchQueue.global().async(group: group) {
            while let i = state.claim(count: count) {
                state.put(transform(i), at: i)
            }
        }
    }
    defer {
        state.stop()
        group.wait()
    }
    for i in 0..<count {
        let output = state.take(i)
        if try !consume(i, output) { return }
    }
}

/// The ring of results shared by the workers and the consumer.
/// `@unchecked Sendable`: every field is read and written only while holding `mutex`.
private final class PipelineState<Output>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var slots: [Output?]
    private var nextClaim = 0
    private var nextTake = 0
    private var stopped = false

    init(window: Int) {
        slots = Array(repeating: nil, count: window)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        changed.deallocate()
    }

    /// The next index to work on, waiting while the window is full; nil when done.
    func claim(count: Int) -> Int? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !stopped && nextClaim < count && nextClaim >= nextTake + slots.count {
            pthread_cond_wait(changed, mutex)
        }
        guard !stopped && nextClaim < count else { return nil }
        defer { nextClaim += 1 }
        return nextClaim
    }

    func put(_ output: Output, at index: Int) {
        pthread_mutex_lock(mutex)
        slots[index % slots.count] = output
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    func take(_ index: Int) -> Output {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while slots[index % slots.count] == nil { pthread_cond_wait(changed, mutex) }
        let output = slots[index % slots.count].take()!
        nextTake = index + 1
        pthread_cond_broadcast(changed)
        return output
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }
}

/// Processors online, for sizing worker pools.
public var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
