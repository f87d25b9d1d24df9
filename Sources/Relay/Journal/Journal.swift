import Platform

/// The relay's on-disk journal (docs/relay.md §3; the byte layout is in JournalFrame.swift and
/// docs/relay.md, "Journal format").
///
/// Frames go to append-only segment files `segment.<first sequence, 20 digits>.log`; an append
/// only writes (`sync` makes it durable: the driver's group commit calls it before answering the
/// 202s it covers). The cursor file says which records are done; segments whose records are all
/// done are deleted. Sequence numbers count records, start at 1 and are never reused.
///
/// Not thread-safe: the relay's driver owns it and calls it from one serial queue (so does a
/// `JournalReader`, which reads the journal's segment list).
// Unchecked: every mutable member is touched only on the owner's queue.
public final class Journal: @unchecked Sendable {
    /// A segment as the journal knows it: its trusted bytes and the records in them.
    struct Segment {
        var firstSequence: UInt64
        /// Bytes of whole, checked frames; anything after them in the file is not trusted.
        var bytes: Int64
        /// One past the last record in it; `firstSequence` while it holds no frame.
        var nextSequence: UInt64
        /// Tells a reader's open descriptor from a later file of the same name.
        var generation: Int

        var name: String { Journal.segmentName(firstSequence) }
        var lastSequence: UInt64 { nextSequence - 1 }
        var isEmpty: Bool { nextSequence == firstSequence }
    }

    /// The oldest frame that holds an unacknowledged record, for `usage`.
    private struct Head {
        var segmentFirst: UInt64
        var offset: Int64
        var firstSequence: UInt64
        var ingestTime: Int64
        var nextSequence: UInt64
    }

    public let directory: String
    public let limits: JournalLimits
    /// The dead-letter file, in the same directory and under the same `maxDiskBytes`.
    public let deadLetters: DeadLetters

    private let state: StateDirectory
    private let handle: DirectoryHandle
    private(set) var segments: [Segment] = []
    /// The last segment, open for appending; nil until the next append creates a segment.
    private var writer: AppendOnlyFile?
    /// Segments closed by a roll before their data was synced: `sync` still owes them.
    private var unsyncedFiles: [AppendOnlyFile] = []
    private var directoryNeedsSync = false
    /// The next append starts a new segment: after a failed sync (docs/design.md §9, the pages
    /// that failed may be gone while later ones reach the disk) or a cut of the last segment.
    private var mustRoll = false
    private var nextGeneration = 0
    private var head: Head?
    /// A header could not be read while looking for `head`: it is unknown, not absent.
    private var headLost = false
    private var reports: [JournalDropReport] = []
    private var storedDrops = JournalDrops()

    /// The sequence number the next record gets.
    public private(set) var nextSequence: UInt64 = 1
    /// Every record with a sequence number up to this one is done: sent, dropped or dead-lettered.
    public private(set) var acknowledged: UInt64 = 0
    /// Frame bytes appended since the last successful `sync`.
    public private(set) var unsyncedBytes = 0

    static let segmentPrefix = "segment."
    static let segmentSuffix = ".log"

    static func segmentName(_ firstSequence: UInt64) -> String {
        let digits = String(firstSequence)
        return segmentPrefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + segmentSuffix
    }

    static func parseSegmentName(_ name: String) -> UInt64? {
        guard name.hasPrefix(segmentPrefix), name.hasSuffix(segmentSuffix) else { return nil }
        let digits = name.dropFirst(segmentPrefix.count).dropLast(segmentSuffix.count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let first = UInt64(digits),
            first >= 1, first <= maximumSequence
        else { return nil }
        return first
    }

    /// No sequence number is this high in ten thousand years of a million records a second; a
    /// segment named beyond it is not ours, and the arithmetic on sequences can never overflow.
    static let maximumSequence: UInt64 = 1 << 62

    private init(
        directory: String, limits: JournalLimits, state: StateDirectory, handle: DirectoryHandle,
        deadLetters: DeadLetters
    ) {
        self.directory = directory
        self.limits = limits
        self.state = state
        self.handle = handle
        self.deadLetters = deadLetters
    }

    // MARK: Opening and recovery

    /// Opens the journal in `directory` (created 0700 if missing; refused unless private and ours,
    /// like the state directory), repairs what a crash left and reads the cursor.
    ///
    /// The last segment is read whole and every frame's CRC checked; a torn tail is cut at the
    /// first bad frame. Older segments are walked by their headers only (a bad CRC there is found
    /// when the frame is read, and cut then); a bad header cuts the rest of that segment and its
    /// records are counted as corrupt drops. A corrupt cursor means every frame on disk is sent
    /// again: duplicates, never loss.
    public static func open(directory: String, limits: JournalLimits) throws(JournalError) -> (Journal, JournalRecovery)
    {
        let state: StateDirectory
        let handle: DirectoryHandle
        do { state = try StateDirectory(path: directory) } catch { throw .directory(error) }
        do { handle = try DirectoryHandle(path: directory) } catch { throw .storage(error) }
        var recovery = JournalRecovery()
        recovery.removedTemporaryFiles = state.removeStaleTemporaryFiles()

        var cursor = JournalCursor()
        var cursorTrusted = false
        do {
            if let bytes = try state.read(JournalCursor.fileName, limit: 4096) {
                switch JournalCursor.decode(bytes) {
                case .success(let decoded):
                    cursor = decoded
                    cursorTrusted = true
                    recovery.cursor = .read
                case .failure(let why):
                    recovery.cursor = .corrupt(why.reason)
                }
            }
        } catch {
            if case .system(let system) = error, system.isTooLarge {
                recovery.cursor = .corrupt("larger than 4096 bytes")
            } else {
                throw .directory(error)
            }
        }

        var found = [UInt64]()
        for name in state.names() {
            if let first = parseSegmentName(name) {
                found.append(first)
            } else if name != JournalCursor.fileName && name != DeadLetters.fileName {
                recovery.unknownFiles.append(name)
            }
        }
        found.sort()
        if !cursorTrusted, let first = found.first {
            // Everything on disk is unsent as far as anyone can tell.
            cursor.acknowledged = first - 1
            cursor.nextSequence = first
        }

        let deadLetters = try DeadLetters(
            directory: state, handle: handle, path: state.pathOf(DeadLetters.fileName),
            maxBytes: limits.effectiveDeadLetterBytes)
        deadLetters.trimmed = cursor.drops.deadLettersTrimmed
        let journal = Journal(
            directory: directory, limits: limits, state: state, handle: handle, deadLetters: deadLetters)
        journal.acknowledged = cursor.acknowledged
        journal.storedDrops = cursor.drops
        let dropsBefore = cursor.drops

        var lastFile: AppendOnlyFile?
        for (index, first) in found.enumerated() {
            let isLast = index == found.count - 1
            let path = state.pathOf(segmentName(first))
            let opened: AppendOnlyFile?
            do { opened = try AppendOnlyFile.open(path, writable: true) } catch { throw .directory(error) }
            guard let file = opened else { continue }
            var segment = Segment(
                firstSequence: first, bytes: 0, nextSequence: first, generation: journal.newGeneration())
            let size: Int64
            do { size = try file.size() } catch { throw .storage(error) }
            let (defect, frames) = try journal.scan(&segment, file: file, size: size, verify: isLast)
            recovery.frames += frames
            if let defect {
                // The records between the cut and the next segment are known lost; a torn last
                // segment loses none that anyone was promised.
                var lost: UInt64 = 0
                if !isLast {
                    let next = found[index + 1]
                    let from = max(segment.nextSequence, journal.acknowledged + 1)
                    if next > from { lost = next - from }
                }
                journal.storedDrops.corrupt.addSaturating(lost)
                recovery.cuts.append(
                    JournalRecovery.Cut(
                        segment: segment.name, offset: segment.bytes, bytes: size - segment.bytes, records: lost,
                        defect: defect))
                do {
                    try file.truncate(to: segment.bytes)
                    try file.syncData()
                } catch {
                    throw .storage(error)
                }
            }
            journal.segments.append(segment)
            if isLast { lastFile = file }
        }

        let lastNext = journal.segments.last?.nextSequence ?? 1
        journal.nextSequence = max(cursor.nextSequence, journal.acknowledged + 1, lastNext)
        if let last = journal.segments.last, last.nextSequence == journal.nextSequence, !last.isEmpty {
            journal.writer = lastFile
        }
        recovery.removedSegments = journal.removeDoneSegments(includingEmpty: true)
        recovery.segments = journal.segments.count
        recovery.unacknowledgedRecords = journal.segments.reduce(0) { $0 + journal.unacknowledged(in: $1) }
        journal.advanceHead()
        if !cursorTrusted || journal.storedDrops != dropsBefore || !recovery.cuts.isEmpty {
            // Best effort: the next acknowledgement writes it again.
            try? journal.writeCursor(journal.cursor)
        }
        return (journal, recovery)
    }

    /// Walks the frames of `segment` from its start; sets its trusted end and records. Returns
    /// what stopped the walk before the end of the file, if anything.
    private func scan(_ segment: inout Segment, file: AppendOnlyFile, size: Int64, verify: Bool) throws(JournalError)
        -> (defect: FrameDefect?, frames: Int)
    {
        var frames = 0
        var offset: Int64 = 0
        var expected = segment.firstSequence
        defer {
            segment.bytes = offset
            segment.nextSequence = expected
        }
        while offset < size {
            let headerBytes: [UInt8]
            do { headerBytes = try file.read(count: FrameFormat.headerSize, at: offset) } catch {
                throw .storage(error)
            }
            let header: FrameFormat.Header
            switch FrameFormat.parseHeader(headerBytes) {
            case .failure(let defect): return (defect, frames)
            case .success(let parsed): header = parsed
            }
            if header.firstSequence != expected {
                return (.sequenceGap(expected: expected, found: header.firstSequence), frames)
            }
            let present = size - offset
            if Int64(header.frameBytes) > present {
                return (.shortFrame(needed: header.frameBytes, present: Int(present)), frames)
            }
            if verify {
                let frame: [UInt8]
                do { frame = try file.read(count: header.frameBytes, at: offset) } catch { throw .storage(error) }
                if let defect = FrameFormat.verify(frame, header) { return (defect, frames) }
            }
            offset += Int64(header.frameBytes)
            expected = header.nextSequence
            frames += 1
        }
        return (nil, frames)
    }

    // MARK: Appending

    /// Appends one frame of `recordCount` records and returns their sequence numbers. Only writes:
    /// the frame is durable after the next successful `sync`.
    ///
    /// When the frame does not fit under `maxDiskBytes`: `dropOldest` deletes the oldest whole
    /// segments, sent or not (their unsent records are counted, one report per segment, and the
    /// cursor moves past them, which costs a cursor write); `rejectNew` throws `.full` and writes
    /// nothing. On a write error the partial frame is cut off again (or, if even that fails, the
    /// next append starts a new segment) and earlier frames stay as they were.
    public func append(payload: [UInt8], recordCount: Int, ingestTime: Int64) throws(JournalError)
        -> ClosedRange<UInt64>
    {
        precondition(recordCount > 0 && recordCount <= Int(UInt32.max), "a frame holds 1 ... 2^32-1 records")
        let frameBytes = FrameFormat.headerSize + payload.count
        let limit = min(FrameFormat.headerSize + FrameFormat.maxPayload, Int(clamping: limits.maxDiskBytes / 4))
        guard frameBytes <= limit else { throw .tooLarge(bytes: frameBytes, limit: limit) }

        try makeRoom(for: frameBytes)
        if mustRoll || writer == nil || segments.isEmpty
            || (segments[segments.count - 1].bytes > 0
                && segments[segments.count - 1].bytes + Int64(frameBytes) > Int64(limits.effectiveSegmentBytes))
        {
            try roll()
        }
        guard let writer else { preconditionFailure("roll leaves a writer") }
        let index = segments.count - 1
        let offset = segments[index].bytes
        let first = nextSequence
        let frame = FrameFormat.encode(
            firstSequence: first, recordCount: recordCount, ingestTime: ingestTime, payload: payload)
        do {
            try writer.write(frame, at: offset)
        } catch {
            do { try writer.truncate(to: offset) } catch { mustRoll = true }
            throw .storage(error)
        }
        segments[index].bytes += Int64(frameBytes)
        segments[index].nextSequence += UInt64(recordCount)
        nextSequence += UInt64(recordCount)
        unsyncedBytes += frameBytes
        if headLost {
            advanceHead()
        } else if head == nil {
            // Everything before this frame was acknowledged.
            head = Head(
                segmentFirst: segments[index].firstSequence, offset: offset, firstSequence: first,
                ingestTime: ingestTime, nextSequence: nextSequence)
        }
        return first...(nextSequence - 1)
    }

    private var segmentBytesTotal: Int64 { segments.reduce(0) { $0 + $1.bytes } }

    private func makeRoom(for frameBytes: Int) throws(JournalError) {
        let limit = limits.maxDiskBytes
        var total = segmentBytesTotal + deadLetters.bytes
        guard total + Int64(frameBytes) > limit else { return }
        guard limits.fullPolicy == .dropOldest else {
            throw .full(needed: Int64(frameBytes), available: max(0, limit - total))
        }
        // The open segment goes last, and then the frame starts a new one.
        var count = 0
        while total + Int64(frameBytes) > limit && count < segments.count {
            total -= segments[count].bytes
            count += 1
        }
        guard total + Int64(frameBytes) <= limit else {
            throw .full(needed: Int64(frameBytes), available: max(0, limit - total))
        }
        try drop(segmentCount: count)
    }

    /// Drops the oldest `segmentCount` segments for room: the cursor first (so a crash cannot
    /// count them twice or bring them back), then the files.
    private func drop(segmentCount: Int) throws(JournalError) {
        let dropped = Array(segments.prefix(segmentCount))
        guard let last = dropped.last else { return }
        var next = cursor
        next.acknowledged = max(acknowledged, last.lastSequence)
        var lost: UInt64 = 0
        var newReports = [JournalDropReport]()
        for segment in dropped where !segment.isEmpty {
            let records = unacknowledged(in: segment)
            lost += records
            newReports.append(
                JournalDropReport(
                    reason: .full, segment: segment.name,
                    sequences: segment.isEmpty ? nil : segment.firstSequence...segment.lastSequence, records: records,
                    bytes: segment.bytes, defect: nil))
        }
        next.drops.full.addSaturating(lost)
        try writeCursor(next)
        acknowledged = next.acknowledged
        storedDrops = next.drops
        reports += newReports
        removeDoneSegments(includingEmpty: false)
        advanceHead()
    }

    /// Starts a new segment named after the next sequence number.
    private func roll() throws(JournalError) {
        if let writer, unsyncedBytes > 0 { unsyncedFiles.append(writer) }
        writer = nil
        if let last = segments.last, last.isEmpty {
            // Left by a failed write into a new segment: nothing in it.
            do { try Syscall.unlinkat(handle.descriptor, last.name, subject: state.pathOf(last.name)) } catch {
                if !error.isNotFound { throw .storage(error) }
            }
            segments.removeLast()
        }
        let segment = Segment(
            firstSequence: nextSequence, bytes: 0, nextSequence: nextSequence, generation: newGeneration())
        do {
            writer = try AppendOnlyFile.create(state.pathOf(segment.name))
        } catch {
            throw .storage(error)
        }
        segments.append(segment)
        directoryNeedsSync = true
        mustRoll = false
    }

    private func newGeneration() -> Int {
        nextGeneration += 1
        return nextGeneration
    }

    // MARK: Durability

    /// Makes every frame appended so far durable: fdatasync of the open segment (and of segments
    /// closed since the last sync), fsync of the directory after a new segment appeared. A
    /// failure is not retried (docs/design.md §9): the frames written before it are of unknown
    /// fate, their requests get an error, and the next append starts a new segment.
    public func sync() throws(JournalError) {
        do {
            for file in unsyncedFiles { try file.syncData() }
            unsyncedFiles = []
            if unsyncedBytes > 0, let writer { try writer.syncData() }
            unsyncedBytes = 0
            if directoryNeedsSync {
                try Syscall.fsync(handle.descriptor, subject: directory)
                directoryNeedsSync = false
            }
        } catch {
            unsyncedFiles = []
            if unsyncedBytes > 0 { mustRoll = true }
            unsyncedBytes = 0
            throw .storage(error)
        }
    }

    // MARK: The cursor

    private var cursor: JournalCursor {
        var drops = storedDrops
        drops.deadLettersTrimmed = deadLetters.trimmed
        return JournalCursor(acknowledged: acknowledged, nextSequence: nextSequence, drops: drops)
    }

    private func writeCursor(_ cursor: JournalCursor) throws(JournalError) {
        do {
            try state.replace(JournalCursor.fileName, with: cursor.encoded())
        } catch {
            throw .storage(error)
        }
    }

    /// Records that every record up to `sequence` is done (the exchange answered 200) with the
    /// state-file recipe, then deletes the segments that hold nothing else. A sequence at or
    /// below the cursor changes nothing.
    public func acknowledge(through sequence: UInt64) throws(JournalError) {
        guard sequence > acknowledged else { return }
        guard sequence < nextSequence else { throw .beyondEnd(sequence: sequence, next: nextSequence) }
        var next = cursor
        next.acknowledged = sequence
        try writeCursor(next)
        acknowledged = sequence
        removeDoneSegments(includingEmpty: false)
        advanceHead()
    }

    /// Moves the cursor past records given up at send time (`relay_max_age`), counting those not
    /// yet acknowledged under `reason`.
    public func dropRecords(through sequence: UInt64, reason: DropReason) throws(JournalError) {
        guard sequence > acknowledged else { return }
        guard sequence < nextSequence else { throw .beyondEnd(sequence: sequence, next: nextSequence) }
        var lost: UInt64 = 0
        for segment in segments where !segment.isEmpty {
            let low = max(segment.firstSequence, acknowledged + 1)
            let high = min(segment.lastSequence, sequence)
            if high >= low { lost += high - low + 1 }
        }
        var next = cursor
        next.acknowledged = sequence
        next.drops[reason].addSaturating(lost)
        try writeCursor(next)
        reports.append(
            JournalDropReport(
                reason: reason, segment: nil, sequences: (acknowledged + 1)...sequence, records: lost, bytes: 0,
                defect: nil))
        acknowledged = sequence
        storedDrops = next.drops
        removeDoneSegments(includingEmpty: false)
        advanceHead()
    }

    /// Deletes the leading segments whose records are all acknowledged (and, at open, empty ones
    /// anywhere). A failed unlink leaves the segment for the next call.
    @discardableResult
    private func removeDoneSegments(includingEmpty: Bool) -> [String] {
        var removed = [String]()
        var kept = [Segment]()
        var stillLeading = true
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            let done =
                stillLeading && segment.lastSequence <= acknowledged && !(segment.isEmpty && isLast && !includingEmpty)
            if done || (includingEmpty && segment.isEmpty) {
                do {
                    try Syscall.unlinkat(handle.descriptor, segment.name, subject: state.pathOf(segment.name))
                } catch  where !error.isNotFound {
                    kept.append(segment)
                    stillLeading = false
                    continue
                } catch {}
                removed.append(segment.name)
                if isLast {
                    writer = nil
                    unsyncedFiles = []
                }
                continue
            }
            stillLeading = false
            kept.append(segment)
        }
        segments = kept
        if !removed.isEmpty {
            // Not needed for correctness: a segment that comes back is deleted again at open.
            do { try Syscall.fsync(handle.descriptor, subject: directory) } catch { directoryNeedsSync = true }
        }
        return removed
    }

    // MARK: Reading and reporting

    /// Frames holding records after `sequence`, in order, read from disk one at a time. A frame
    /// that straddles `sequence` comes whole: the caller skips the records it already has.
    public func reader(after sequence: UInt64) -> JournalReader {
        JournalReader(journal: self, after: sequence)
    }

    func segmentIndex(first: UInt64) -> Int? {
        segments.firstIndex { $0.firstSequence == first }
    }

    func path(of segment: Segment) -> String { state.pathOf(segment.name) }

    /// Unacknowledged records in `segment`.
    func unacknowledged(in segment: Segment) -> UInt64 {
        guard !segment.isEmpty, segment.lastSequence > acknowledged else { return 0 }
        return segment.lastSequence - max(acknowledged, segment.firstSequence - 1)
    }

    /// A reader found a frame that fails its checks at `offset` of the segment starting at
    /// `first`, where `expected` was the next sequence number: the rest of that segment is cut
    /// and its unsent records counted as corrupt drops.
    func cut(segmentFirst first: UInt64, at offset: Int64, expected: UInt64, defect: FrameDefect) {
        guard let index = segmentIndex(first: first), offset < segments[index].bytes else { return }
        let segment = segments[index]
        var lost: UInt64 = 0
        if !segment.isEmpty, segment.lastSequence >= expected {
            let low = max(expected, acknowledged + 1)
            if segment.lastSequence >= low { lost = segment.lastSequence - low + 1 }
        }
        let isLast = index == segments.count - 1
        if isLast, let writer {
            try? writer.truncate(to: offset)
        } else if let file = try? AppendOnlyFile.open(path(of: segment), writable: true) {
            try? file.truncate(to: offset)
        }
        if isLast { mustRoll = true }
        segments[index].bytes = offset
        segments[index].nextSequence = expected
        storedDrops.corrupt.addSaturating(lost)
        reports.append(
            JournalDropReport(
                reason: .corrupt, segment: segment.name,
                sequences: expected <= segment.lastSequence ? expected...segment.lastSequence : nil, records: lost,
                bytes: segment.bytes - offset, defect: defect))
        try? writeCursor(cursor)
        head = nil
        advanceHead()
    }

    /// Finds the oldest frame holding an unacknowledged record, reading headers forward from the
    /// last one found: each header is read about once over the journal's life.
    private func advanceHead() {
        var first: UInt64
        var offset: Int64
        // Headers of older segments were not CRC-checked: each must continue the numbering.
        var expected: UInt64
        if let head, head.nextSequence - 1 > acknowledged, segmentIndex(first: head.segmentFirst) != nil {
            return
        } else if let head, !headLost {
            first = head.segmentFirst
            offset = head.offset
            expected = head.firstSequence
        } else if let segment = segments.first {
            first = segment.firstSequence
            offset = 0
            expected = first
        } else {
            return
        }
        head = nil
        headLost = false
        var file: AppendOnlyFile?
        while true {
            guard let index = segments.firstIndex(where: { $0.firstSequence >= first }) else { return }
            if segments[index].firstSequence != first {
                first = segments[index].firstSequence
                offset = 0
                expected = first
                file = nil
            }
            let segment = segments[index]
            if segment.lastSequence <= acknowledged || offset >= segment.bytes {
                guard index + 1 < segments.count else { return }
                first = segments[index + 1].firstSequence
                offset = 0
                expected = first
                file = nil
                continue
            }
            if file == nil { file = try? AppendOnlyFile.open(path(of: segment), writable: false) }
            guard let file, let bytes = try? file.read(count: FrameFormat.headerSize, at: offset),
                case .success(let header) = FrameFormat.parseHeader(bytes), header.firstSequence == expected
            else {
                // Unknown for now (the reader will cut a bad frame); looked for again later.
                headLost = true
                return
            }
            if header.nextSequence - 1 > acknowledged {
                head = Head(
                    segmentFirst: first, offset: offset, firstSequence: header.firstSequence,
                    ingestTime: header.ingestTime, nextSequence: header.nextSequence)
                return
            }
            offset += Int64(header.frameBytes)
            expected = header.nextSequence
        }
    }

    /// Exact counts of dropped records by reason, kept across restarts in the cursor file.
    public var drops: JournalDrops {
        var drops = storedDrops
        drops.deadLettersTrimmed = deadLetters.trimmed
        return drops
    }

    /// Drops since the last call, one report per segment dropped or cut, for the log.
    public func takeDropReports() -> [JournalDropReport] {
        defer { reports = [] }
        return reports
    }

    public var usage: JournalUsage {
        let segmentBytes = segmentBytesTotal
        return JournalUsage(
            diskBytes: segmentBytes + deadLetters.bytes, segmentBytes: segmentBytes, deadLetterBytes: deadLetters.bytes,
            maxDiskBytes: limits.maxDiskBytes, segments: segments.count,
            unacknowledgedRecords: segments.reduce(0) { $0 + unacknowledged(in: $1) },
            oldestUnacknowledgedIngestTime: head?.ingestTime, acknowledged: acknowledged, nextSequence: nextSequence,
            deadLetters: deadLetters.count)
    }
}

extension UInt64 {
    /// Counts that must never trap, whatever a damaged journal claims.
    mutating func addSaturating(_ other: UInt64) {
        let (sum, overflow) = addingReportingOverflow(other)
        self = overflow ? .max : sum
    }
}
