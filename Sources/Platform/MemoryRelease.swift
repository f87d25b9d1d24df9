import Dispatch
import Glibc

/// Gives the kernel back, once the daemon is idle, the pages that start-up touched and idle does
/// not use (docs/platform-notes.md swift §9). Loading, relocating and first use of OpenSSL, libcurl
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
    /// The corresponding C functions are `malloc_trim` and `madvise`.
    @discardableResult
    public static func release() -> Outcome {
        _ = mallocTrim(0)
        var outcome = Outcome()
        for mapping in releasableMappings(smaps: readSelfSmaps()) {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
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
// Unchecked: `lastRelease` is read and written only on `queue`; the timer is a Dispatch object.
public final class IdleMemoryRelease: @unchecked Sendable {
    private let quiet: Double
    private let spacing: Double
    private let queue = DispatchQueue(label: "hubagent.memory-release")
    private let timer: any DispatchSourceTimer
    private var lastRelease: UInt64?

    public init(quiet: Double = 2, spacing: Double = 60, logger: Logger) {
        self.quiet = quiet
        self.spacing = spacing
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [unowned self] in
            timer.schedule(deadline: .distantFuture)
            lastRelease = DispatchTime.now().uptimeNanoseconds
            let outcome = MemoryRelease.release()
            logger.debug("idle: released \(outcome.kilobytes) kB of start-up pages in \(outcome.mappings) mappings")
        }
        timer.schedule(deadline: .distantFuture)
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Something happened (a status change): postpones the release until things are quiet again.
    public func noteActivity() {
        queue.async { [self] in
            let now = DispatchTime.now().uptimeNanoseconds
            let at = Self.releaseTime(now: now, lastRelease: lastRelease, quiet: quiet, spacing: spacing)
            timer.schedule(deadline: DispatchTime(uptimeNanoseconds: at))
        }
    }

    /// When the release runs after activity at `now` (monotonic nanoseconds).
    static func releaseTime(now: UInt64, lastRelease: UInt64?, quiet: Double, spacing: Double) -> UInt64 {
        let afterQuiet = now + UInt64(quiet * 1e9)
        guard let lastRelease else { return afterQuiet }
        return max(afterQuiet, lastRelease + UInt64(spacing * 1e9))
    }
}

/// glibc's `malloc_trim` (malloc.h, which the Glibc module does not import): returns the free top
/// of every arena and `madvise`s the free pages inside them. A free function, so that the Swift
/// calling convention passes exactly C's arguments.
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32
