public import Platform

/// The journal's bounds (docs/relay.md §3, `relay_max_disk`, `relay_full_policy`).
public struct JournalLimits: Equatable, Sendable {
    public enum FullPolicy: String, Equatable, Sendable {
        /// Delete the oldest whole segment, sent or not, and count its records (the default).
        case dropOldest = "drop_oldest"
        /// Refuse the new frame (the request gets 507) and keep everything stored.
        case rejectNew = "reject_new"
    }

    /// Segments and dead letters together; see `JournalSpace.effectiveMaxDisk`.
    public var maxDiskBytes: Int64
    /// A segment is closed once it holds this much (a frame is never split: one larger than this
    /// gets a segment of its own). At most a quarter of `maxDiskBytes` is used, so that dropping
    /// the oldest segments always makes room.
    public var segmentBytes: Int
    public var fullPolicy: FullPolicy
    /// The dead-letter file's cap, inside `maxDiskBytes`; nil: a sixteenth of it, 64 KiB … 16 MiB.
    public var deadLetterBytes: Int64?

    public static let defaultSegmentBytes = 4 << 20

    public init(
        maxDiskBytes: Int64 = 256 << 20, segmentBytes: Int = defaultSegmentBytes, fullPolicy: FullPolicy = .dropOldest,
        deadLetterBytes: Int64? = nil
    ) {
        self.maxDiskBytes = maxDiskBytes
        self.segmentBytes = segmentBytes
        self.fullPolicy = fullPolicy
        self.deadLetterBytes = deadLetterBytes
    }

    /// The segment size in force.
    var effectiveSegmentBytes: Int { max(4096, min(segmentBytes, Int(clamping: maxDiskBytes / 4))) }

    /// The dead-letter cap in force.
    var effectiveDeadLetterBytes: Int64 { deadLetterBytes ?? max(64 << 10, min(maxDiskBytes / 16, 16 << 20)) }
}

/// Why records were dropped without reaching Insights Hub.
public enum DropReason: String, Equatable, Sendable, CaseIterable {
    /// `drop_oldest` deleted their segment to make room.
    case full
    /// Older than `relay_max_age` when their turn to be sent came.
    case age
    /// Their frame failed its checks (CRC, length, sequence) and was cut.
    case corrupt
}

/// Exact counts of dropped records, kept in the cursor file across restarts.
public struct JournalDrops: Equatable, Sendable {
    public var full: UInt64 = 0
    public var age: UInt64 = 0
    public var corrupt: UInt64 = 0
    /// Dead-letter lines removed to keep the file under its cap (oldest first).
    public var deadLettersTrimmed: UInt64 = 0

    public init() {}

    public subscript(reason: DropReason) -> UInt64 {
        get {
            switch reason {
            case .full: full
            case .age: age
            case .corrupt: corrupt
            }
        }
        set {
            switch reason {
            case .full: full = newValue
            case .age: age = newValue
            case .corrupt: corrupt = newValue
            }
        }
    }

    public var total: UInt64 { full + age + corrupt }
}

/// One drop, for the log line the driver writes (docs/relay.md §3: "log once per segment").
public struct JournalDropReport: Equatable, Sendable, CustomStringConvertible {
    public var reason: DropReason
    /// The segment file concerned, nil for a drop of records by sequence (`dropRecords`).
    public var segment: String?
    /// The sequence numbers given up (some may have been acknowledged already).
    public var sequences: ClosedRange<UInt64>?
    /// Records among them that had not been acknowledged: what was lost.
    public var records: UInt64
    public var bytes: Int64
    /// For a corrupt cut: what was wrong at the cut.
    public var defect: FrameDefect?

    public var description: String {
        var text = "dropped \(records) unsent record(s) (\(reason.rawValue))"
        if let segment { text += " in \(segment)" }
        if let sequences { text += ", sequences \(sequences.lowerBound)...\(sequences.upperBound)" }
        if bytes > 0 { text += ", \(bytes) bytes" }
        if let defect { text += ": \(defect)" }
        return text
    }
}

/// What `Journal.open` found and repaired; the driver logs it (docs/relay.md §3: "log what was cut").
public struct JournalRecovery: Equatable, Sendable, CustomStringConvertible {
    /// Bytes cut from the end of a segment because a frame there failed its checks.
    public struct Cut: Equatable, Sendable, CustomStringConvertible {
        public var segment: String
        /// Where the first bad frame started: the segment's new length.
        public var offset: Int64
        public var bytes: Int64
        /// Records known lost (counted as corrupt drops): the gap to the next segment. A torn last
        /// segment counts none, its tail was never synced (or its request never answered 202).
        public var records: UInt64
        public var defect: FrameDefect

        public var description: String {
            "\(segment): cut \(bytes) bytes at offset \(offset) (\(defect))"
                + (records > 0 ? ", \(records) unsent record(s) lost" : "")
        }
    }

    public enum CursorState: Equatable, Sendable {
        case read
        /// No cursor file: a new journal, or one that never acknowledged anything.
        case missing
        /// Unreadable: every frame on disk is sent again (duplicates, never loss).
        case corrupt(String)
    }

    public var cuts: [Cut] = []
    public var cursor: CursorState = .missing
    /// Segments found (after removing the fully acknowledged and empty ones).
    public var segments = 0
    /// Frames kept: checked whole in the last segment, by their headers in the others.
    public var frames = 0
    public var unacknowledgedRecords: UInt64 = 0
    /// Segment files deleted at open: fully acknowledged, or empty.
    public var removedSegments: [String] = []
    /// Temp files a crash left behind (an interrupted cursor write).
    public var removedTemporaryFiles: [String] = []
    /// Files in the directory that are none of the journal's, left alone.
    public var unknownFiles: [String] = []

    public init() {}

    /// Nothing was cut and the cursor was readable (or absent).
    public var isClean: Bool {
        if case .corrupt = cursor { return false }
        return cuts.isEmpty
    }

    public var description: String {
        var parts = ["\(segments) segment(s), \(frames) frame(s), \(unacknowledgedRecords) unsent record(s)"]
        if case .corrupt(let why) = cursor { parts.append("cursor unreadable (\(why)): every stored frame is resent") }
        parts += cuts.map(\.description)
        if !removedSegments.isEmpty { parts.append("removed \(removedSegments.count) sent or empty segment(s)") }
        if !unknownFiles.isEmpty { parts.append("ignored unknown file(s) \(unknownFiles.joined(separator: ", "))") }
        return parts.joined(separator: "; ")
    }
}

/// Where the journal stands, for `GET /v1/relay`, status.json and the STATUS line (docs/relay.md §1).
public struct JournalUsage: Equatable, Sendable {
    /// Segments plus dead letters: what `maxDiskBytes` bounds.
    public var diskBytes: Int64
    public var segmentBytes: Int64
    public var deadLetterBytes: Int64
    public var maxDiskBytes: Int64
    public var segments: Int
    public var unacknowledgedRecords: UInt64
    /// Ingest time (ms) of the oldest frame that still holds an unacknowledged record.
    public var oldestUnacknowledgedIngestTime: Int64?
    public var acknowledged: UInt64
    /// The sequence number the next record gets.
    public var nextSequence: UInt64
    public var deadLetters: Int
}

public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed (ENOSPC, EIO, …): the request gets 507 or 500 (docs/relay.md §3).
    case storage(SystemError)
    /// The directory or one of its files may not be used (owner, mode, kind).
    case directory(StorageError)
    /// `reject_new` and no room: nothing was written (507).
    case full(needed: Int64, available: Int64)
    /// A frame larger than the journal can ever hold.
    case tooLarge(bytes: Int, limit: Int)
    /// An acknowledgement of sequence numbers never handed out.
    case beyondEnd(sequence: UInt64, next: UInt64)
    /// A dead-letter line that is not one the journal wrote.
    case corrupt(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .storage(let error): "journal: \(error)"
        case .directory(let error): "journal: \(error)"
        case .full(let needed, let available):
            "journal full: \(needed) bytes needed, \(available) free under relay_max_disk"
                + " (relay_full_policy reject_new)"
        case .tooLarge(let bytes, let limit): "journal: a frame of \(bytes) bytes exceeds the limit of \(limit)"
        case .beyondEnd(let sequence, let next):
            "journal: sequence \(sequence) acknowledged, but only \(next - 1) were assigned"
        case .corrupt(let path, let line, let reason): "\(path):\(line): \(reason)"
        }
    }

    /// ENOSPC, EDQUOT, a full journal: the request may succeed later (507 + Retry-After).
    public var isOutOfSpace: Bool {
        switch self {
        case .full: true
        case .storage(let error): error.isOutOfSpace
        default: false
        }
    }
}
