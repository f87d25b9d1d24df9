import Platform

/// Streams the journal's frames from disk in sequence order, one frame in memory at a time.
///
/// Reads up to the journal's trusted end only, so it never sees a frame being written; once it has
/// returned nil (caught up), a later `next()` returns what was appended since. It follows the
/// journal's changes: a segment deleted under it is skipped. Every returned frame's CRC was
/// checked; a frame that fails is cut from the journal (`Journal.takeDropReports` says so) and
/// reading goes on with the next segment. Used on the journal's queue only.
// Unchecked: used only on the journal's queue.
public final class JournalReader: @unchecked Sendable {
    private let journal: Journal
    /// Frames whose records are all at or below this are skipped.
    private let after: UInt64
    /// The segment being read (by its first sequence number), nil before the first read.
    private var segmentFirst: UInt64?
    private var offset: Int64 = 0
    private var expected: UInt64 = 0
    private var file: AppendOnlyFile?
    private var fileGeneration = 0

    init(journal: Journal, after: UInt64) {
        self.journal = journal
        self.after = after
    }

    /// The next frame holding a record after `after`, or nil when there is none (yet).
    public func next() throws(JournalError) -> JournalFrame? {
        while true {
            guard let index = locate() else { return nil }
            let segment = journal.segments[index]
            if offset >= segment.bytes {
                guard index + 1 < journal.segments.count else { return nil }
                move(to: journal.segments[index + 1])
                continue
            }
            guard let file = try open(segment) else {
                // Deleted since (acknowledged or dropped): what follows is in the next segment.
                guard index + 1 < journal.segments.count else { return nil }
                move(to: journal.segments[index + 1])
                continue
            }
            let headerBytes: [UInt8]
            do { headerBytes = try file.read(count: FrameFormat.headerSize, at: offset) } catch {
                throw .storage(error)
            }
            let header: FrameFormat.Header
            switch FrameFormat.parseHeader(headerBytes) {
            case .failure(let defect):
                cut(segment, defect)
                continue
            case .success(let parsed):
                header = parsed
            }
            if header.firstSequence != expected {
                cut(segment, .sequenceGap(expected: expected, found: header.firstSequence))
                continue
            }
            let present = segment.bytes - offset
            if Int64(header.frameBytes) > present {
                cut(segment, .shortFrame(needed: header.frameBytes, present: Int(present)))
                continue
            }
            if header.nextSequence - 1 <= after {
                offset += Int64(header.frameBytes)
                expected = header.nextSequence
                continue
            }
            let bytes: [UInt8]
            do { bytes = try file.read(count: header.frameBytes, at: offset) } catch { throw .storage(error) }
            if bytes.count < header.frameBytes {
                cut(segment, .shortFrame(needed: header.frameBytes, present: bytes.count))
                continue
            }
            if let defect = FrameFormat.verify(bytes, header) {
                cut(segment, defect)
                continue
            }
            offset += Int64(header.frameBytes)
            expected = header.nextSequence
            return JournalFrame(
                firstSequence: header.firstSequence, recordCount: header.recordCount, ingestTime: header.ingestTime,
                payload: Array(bytes[FrameFormat.headerSize...]))
        }
    }

    /// The index of the segment to read from, moving on when the current one is gone.
    private func locate() -> Int? {
        let segments = journal.segments
        guard !segments.isEmpty else { return nil }
        guard let current = segmentFirst else {
            // Start in the last segment that begins at or before the first wanted record.
            let wanted = after &+ 1
            let index = segments.lastIndex { $0.firstSequence <= wanted } ?? 0
            move(to: segments[index])
            return index
        }
        if let index = journal.segmentIndex(first: current) { return index }
        guard let index = segments.firstIndex(where: { $0.firstSequence > current }) else { return nil }
        move(to: segments[index])
        return index
    }

    private func move(to segment: Journal.Segment) {
        segmentFirst = segment.firstSequence
        offset = 0
        expected = segment.firstSequence
        file = nil
    }

    private func open(_ segment: Journal.Segment) throws(JournalError) -> AppendOnlyFile? {
        if let file, fileGeneration == segment.generation { return file }
        do {
            file = try AppendOnlyFile.open(journal.path(of: segment), writable: false)
        } catch {
            throw .directory(error)
        }
        fileGeneration = segment.generation
        return file
    }

    private func cut(_ segment: Journal.Segment, _ defect: FrameDefect) {
        journal.cut(segmentFirst: segment.firstSequence, at: offset, expected: expected, defect: defect)
    }
}
