import Dispatch
import Glibc
import Synchronization

/// Gives the kernel back, once the daemon is idle, the pages that start-up touched and idle does
/// not use (docs/platform-notes.md swift §6). Loading, relocating and first use of OpenSSL, libcurl
/// and the Swift runtime leave most of the binary's and the libraries' code resident: clean file
/// pages, counted in RSS until dropped. `madvise(MADV_DONTNEED)` drops them from this process; the
/// page cache keeps them, so the next touch is a minor fault, not a read. Only mappings whose
/// every page still equals the file are dropped: nothing written can be lost.
public enum MemoryRelease {
    /// One mapping of `/proc/self/smaps` that can be dropped and come back unchanged.
    public struct Mapping: Equatable, Sendable {
        public var start: UInt
        public var end: UInt
        public var residentKilobytes: Int
    }

    /// What one release dropped.
    public struct Outcome: Equatable, Sendable {
        public var mappings = 0
        public var kilobytes = 0

        public init(mappings: Int = 0, kilobytes: Int = 0) {
            self.mappings = mappings
            self.kilobytes = kilobytes
        }
    }

    /// The mappings of `smaps` (the text of `/proc/PID/smaps`) that are backed by a file, private,
    /// not writable, resident, hold no copy-on-write page (`Anonymous`, `Swap`: 0: a RELRO page
    /// after relocation is one, and dropping it would undo the relocation) and are not locked.
    /// Bytes, not String: the release must not itself pull in Unicode tables.
    public static func releasableMappings(smaps: [UInt8]) -> [Mapping] {
        var result: [Mapping] = []
        var current: (mapping: Mapping, eligible: Bool)?
        func finish() {
            if let current, current.eligible, current.mapping.residentKilobytes > 0 { result.append(current.mapping) }
            current = nil
        }
        for line in smaps.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.last == UInt8(ascii: ":") {
                guard current != nil else { continue }
                let value = fields.count > 1 ? number(fields[1], radix: 10) : nil
                switch Array(first) {
                case Array("Rss:".utf8): current?.mapping.residentKilobytes = Int(value ?? 0)
                case Array("Anonymous:".utf8), Array("Swap:".utf8):
                    if value != 0 { current?.eligible = false }
                case Array("VmFlags:".utf8):
                    if fields.dropFirst().contains(where: { Array($0) == Array("lo".utf8) }) {
                        current?.eligible = false
                    }
                default: break
                }
                continue
            }
            // A header: start-end perms offset device inode [path].
            finish()
            let range = first.split(separator: UInt8(ascii: "-"))
            guard range.count == 2, let start = number(range[0], radix: 16), let end = number(range[1], radix: 16),
                fields.count >= 5
            else { continue }
            let perms = Array(fields[1])
            let inode = number(fields[4], radix: 10) ?? 0
            let path = fields.count > 5 ? Array(fields[5]) : []
            let eligible =
                perms.count == 4 && perms[1] != UInt8(ascii: "w") && perms[3] == UInt8(ascii: "p") && inode != 0
                && path.first == UInt8(ascii: "/")
            current = (Mapping(start: start, end: end, residentKilobytes: 0), eligible)
        }
        finish()
        return result
    }

    /// Trims the heap (`malloc_trim`) and drops every releasable mapping of this process.
    /// `announce` gets what is about to be dropped, before it is: code run afterwards (a log line
    /// splits and formats strings) would bring pages back. The corresponding C functions are
    /// `malloc_trim` and `madvise`.
    @discardableResult
    public static func release(announce: (Outcome) -> Void = { _ in }) -> Outcome {
        _ = mallocTrim(0)
        // Highest address first: the executable (which runs this loop) comes last in a PIE layout,
        // so that little of its code is touched again once its pages are dropped.
        let mappings = releasableMappings(smaps: readSelfSmaps()).sorted { $0.start > $1.start }
        announce(Outcome(mappings: mappings.count, kilobytes: mappings.reduce(0) { $0 + $1.residentKilobytes }))
        var outcome = Outcome()
        for mapping in mappings {
            let address = UnsafeMutableRawPointer(bitPattern: mapping.start)
            if madvise(address, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 {
                outcome.mappings += 1
                outcome.kilobytes += mapping.residentKilobytes
            }
        }
        return outcome
    }

    /// The whole of `/proc/self/smaps`, or nothing. procfs, not storage: read directly, outside
    /// the `Syscall` choke point, so that the storage fault injector's positions do not move.
    private static func readSelfSmaps() -> [UInt8] {
        let fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 16 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    private static func number(_ digits: ArraySlice<UInt8>, radix: UInt) -> UInt? {
        guard !digits.isEmpty else { return nil }
        var value: UInt = 0
        for digit in digits {
            let d: UInt
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt(digit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: d = UInt(digit - UInt8(ascii: "a")) + 10
            default: return nil
            }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            if overflow { return nil }
            value = shifted + d
        }
        return value
    }
}

/// Runs `MemoryRelease.release()` once activity has stopped: `quiet` seconds after the last
/// `noteActivity()`, and never sooner than `spacing` seconds after the previous release, so that
/// values arriving every few seconds do not pay a release and the faults after it each time.
/// One-shot: an idle daemon is not woken again until something happens.
///
/// The release runs on a thread of its own that never exits, not on a Dispatch queue: libdispatch
/// ends an idle worker thread about 5 s after its last work item, and that exit (OpenSSL's and
/// the Swift runtime's thread-local destructors) touches about 1 MB of code again. `quiet` is
/// longer than that, so the workers of the last activity are gone before the release.
public final class IdleMemoryRelease: Sendable {
    private struct Times {
        var lastActivity: UInt64?
        var lastRelease: UInt64?
    }

    private let quiet: Double
    private let spacing: Double
    private let logger: Logger
    private let times = Mutex(Times())
    private let wake = DispatchSemaphore(value: 0)

    /// Starts the releasing thread; one per process, for the life of the process.
    public init(quiet: Double = 10, spacing: Double = 60, logger: Logger) {
        self.quiet = quiet
        self.spacing = spacing
        self.logger = logger
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<IdleMemoryRelease>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<IdleMemoryRelease>.fromOpaque(context).release()
            logger.warning("\(SystemError("pthread_create", "idle memory release", errno: started)); not releasing")
        }
    }

    /// Something happened (a status change): postpones the release until things are quiet again.
    public func noteActivity() {
        let now = DispatchTime.now().uptimeNanoseconds
        times.withLock { $0.lastActivity = now }
        wake.signal()
    }

    private func run() -> Never {
        // Signals are for the threads libdispatch forwards them to (docs/platform-notes.md swift §5).
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let step = times.withLock {
                Self.step(
                    now: now, lastActivity: $0.lastActivity, lastRelease: $0.lastRelease, quiet: quiet,
                    spacing: spacing)
            }
            switch step {
            case .sleep: wake.wait()
            // Woken early by more activity: the deadline moves, the next step takes it.
            case .wait(let deadline): _ = wake.wait(timeout: DispatchTime(uptimeNanoseconds: deadline))
            case .release:
                // Stamped before: activity during the release counts as new.
                times.withLock { $0.lastRelease = now }
                MemoryRelease.release { planned in
                    logger.debug(
                        "idle: releasing \(planned.kilobytes) kB of start-up pages in \(planned.mappings) mappings")
                }
            }
        }
    }

    enum Step: Equatable {
        /// Nothing happened since the last release.
        case sleep
        /// Until this monotonic instant (ns), unless more activity comes.
        case wait(until: UInt64)
        case release
    }

    /// What the releasing thread does at `now`, all instants in monotonic nanoseconds.
    static func step(now: UInt64, lastActivity: UInt64?, lastRelease: UInt64?, quiet: Double, spacing: Double)
        -> Step
    {
        guard let lastActivity else { return .sleep }
        var deadline = lastActivity + UInt64(quiet * 1e9)
        if let lastRelease {
            guard lastActivity >= lastRelease else { return .sleep }
            deadline = max(deadline, lastRelease + UInt64(spacing * 1e9))
        }
        return now >= deadline ? .release : .wait(until: deadline)
    }
}

extension MemoryRelease {
    /// At most `count` malloc arenas: glibc gives each thread that allocates its own (up to eight
    /// per core), and each keeps its high-water mark; the relay builds batches on whichever Dispatch
    /// worker runs its queue, which cost 20 MB over idle in a drain with the default
    /// (bench/RESULTS.md). Call before other threads start. The corresponding C function is
    /// `mallopt(M_ARENA_MAX, count)`.
    public static func limitArenas(_ count: Int32) {
        _ = mallopt(arenaMaximum, count)
    }

    /// `M_ARENA_MAX` in glibc's malloc.h.
    private static let arenaMaximum: Int32 = -8
}

@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// glibc's `malloc_trim` (malloc.h, which the Glibc module does not import): returns the free top
/// of every arena and `madvise`s the free pages inside them. A free function, so that the Swift
/// calling convention passes exactly C's arguments.
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32
