import Glibc

/// Whole lines from a file or standard input, in batches of at most `maximumBytes` (a longer line
/// is a batch of its own), for `hubagent send`: a file of any size is sent without being held in
/// memory whole.
public struct LineBatches {
    public struct Batch: Equatable, Sendable {
        /// Lines joined by "\n", each ending with it.
        public var bytes: [UInt8]
        /// The 1-based number of its first line in the input.
        public var firstLine: Int
        public var lineCount: Int
    }

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let subject: String
    private let maximumBytes: Int
    private var pending: [UInt8] = []
    private var atEnd = false
    private var nextLine = 1

    /// Standard input when `path` is nil or "-". The corresponding C function is `open`.
    public init(path: String?, maximumBytes: Int) throws(SystemError) {
        if let path, path != "-" {
            fd = try Syscall.open(path, O_RDONLY)
            ownsDescriptor = true
            subject = path
        } else {
            fd = 0
            ownsDescriptor = false
            subject = "standard input"
        }
        self.maximumBytes = maximumBytes
    }

    /// Lines given in memory (`hubagent send --data`).
    public init(bytes: [UInt8], maximumBytes: Int) {
        fd = -1
        ownsDescriptor = false
        subject = "--data"
        self.maximumBytes = maximumBytes
        pending = bytes
        atEnd = true
    }

    public func close() {
        if ownsDescriptor { Glibc.close(fd) }
    }

    /// The next batch, nil at the end. A last line without "\n" gets one. A line longer than the
    /// bound is read up to four times the bound (the daemon refuses it with 413 anyway).
    public mutating func next() throws(SystemError) -> Batch? {
        while !atEnd, pending.count < maximumBytes { try fill() }
        if pending.isEmpty { return nil }
        var cut: Int
        if atEnd && pending.count <= maximumBytes {
            cut = pending.count
        } else if let newline = pending[..<min(pending.count, maximumBytes)].lastIndex(of: 10) {
            cut = newline + 1
        } else {
            while !atEnd, !pending.contains(10), pending.count < 4 * maximumBytes { try fill() }
            cut = pending.firstIndex(of: 10).map { $0 + 1 } ?? pending.count
        }
        var bytes = Array(pending[..<cut])
        pending.removeFirst(cut)
        if bytes.last != 10 { bytes.append(10) }
        let lines = bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        defer { nextLine += lines }
        return Batch(bytes: bytes, firstLine: nextLine, lineCount: lines)
    }

    private mutating func fill() throws(SystemError) {
        guard fd >= 0 else {
            atEnd = true
            return
        }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { return }
            throw SystemError("read", subject)
        }
        if count == 0 { atEnd = true } else { pending += chunk[0..<count] }
    }
}

extension ProcessControl {
    /// Waits `seconds` (a client told to retry later). The corresponding C function is `nanosleep`.
    public static func pause(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
