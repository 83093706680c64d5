#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `transform` over the items `produce` yields, on `workers` threads, and hands the
/// results to `consume` on the calling thread strictly in production order, with at most
/// `window` items in flight: memory stays bounded however many items there are.
///
/// `produce` is called by one thread at a time (under the pipeline's lock), so it may keep
/// state, such as a scanner reading a file from start to end. `consume` returns false to
/// stop early; workers then finish the item in hand and quit.
/// - Throws: whatever `consume` throws, after every worker has stopped.
package func orderedParallelMap<Item: Sendable, Output: Sendable>(
    workers: Int, window: Int,
    produce: @escaping () -> Item?,
    transform: @escaping @Sendable (Item) -> Output,
    consume: (Output) throws -> Bool
) throws {
    if workers <= 1 {
        while let item = produce(), try consume(transform(item)) {}
        return
    }
    let state = PipelineState<Item, Output>(window: max(window, workers), produce: produce)
    // Dedicated threads, not a shared queue: the caller blocks while it waits for results,
    // and a pool whose threads are all blocked can be slow to add more.
    let threads = (0..<workers).map { _ in
        startThread {
            while let (index, item) = state.claim() {
                state.put(transform(item), at: index)
            }
            state.finished()
        }
    }
    defer {
        state.stop()
        for thread in threads { joinThread(thread) }
    }
    while let output = state.take() {
        if try !consume(output) { return }
    }
}

/// The producer and the ring of results shared by the workers and the consumer.
/// `@unchecked Sendable`: every field, and `produce`, is used only while holding `mutex`.
private final class PipelineState<Item, Output>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let produce: () -> Item?
    private var slots: [Output?]
    private var produced = 0
    private var taken = 0
    private var exhausted = false
    private var stopped = false
    private var running: Int

    init(window: Int, produce: @escaping () -> Item?) {
        self.produce = produce
        slots = Array(repeating: nil, count: window)
        running = 0
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        changed.deallocate()
    }

    /// The next item and its place in order, waiting while the window is full; nil when done.
    func claim() -> (Int, Item)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !stopped && !exhausted && produced >= taken + slots.count {
            pthread_cond_wait(changed, mutex)
        }
        guard !stopped && !exhausted, let item = produce() else {
            exhausted = true
            pthread_cond_broadcast(changed)
            return nil
        }
        running += 1
        defer { produced += 1 }
        return (produced, item)
    }

    func put(_ output: Output, at index: Int) {
        pthread_mutex_lock(mutex)
        slots[index % slots.count] = output
        running -= 1
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// A worker leaves: the consumer may be waiting to learn that nothing more will come.
    func finished() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// The next output in order, waiting for it; nil once everything produced was taken.
    func take() -> Output? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            let slot = taken % slots.count
            if taken < produced, let output = slots[slot] {
                slots[slot] = nil
                taken += 1
                pthread_cond_broadcast(changed)
                return output
            }
            if exhausted && taken == produced && running == 0 { return nil }
            pthread_cond_wait(changed, mutex)
        }
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }
}

/// The body a new thread runs.
private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

#if canImport(Darwin)
private typealias Thread = pthread_t?
#else
private typealias Thread = pthread_t
#endif

/// Starts a thread running `body`.
private func startThread(_ body: @escaping @Sendable () -> Void) -> Thread {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = Thread()
    let status = pthread_create(&thread, nil, { context in
        Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().run()
        return nil
    }, context)
    precondition(status == 0, "cannot start a thread: error \(status)")
    return thread
}

private func joinThread(_ thread: Thread) {
    #if canImport(Darwin)
    pthread_join(thread!, nil)
    #else
    pthread_join(thread, nil)
    #endif
}

/// Processors online, for sizing worker pools.
public var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
