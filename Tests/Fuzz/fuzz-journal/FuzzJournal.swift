import Glibc
import Relay

/// The journal's recovery and reading on segment files it did not write (docs/relay.md §3,
/// "Journal format"). The input is written as one to three segment files in a fresh directory,
/// the journal opened and every frame read. Checks: nothing traps; the frames read are exactly
/// the whole, checked, consecutively numbered frames at the start of each segment (a model that
/// walks the bytes on its own, with its own CRC-32C); recovery cuts a segment only where that walk
/// stops; and after the reads have cut what they found, a second open cuts nothing and reads the
/// same frames.
///
/// Input: byte 0 picks the mode and the first segment's name, byte 1 the step between segment
/// names. Mode raw: the rest is the segment bytes, `SEG!` starting the next segment. Mode built:
/// the rest is a list of operations (append a frame, corrupt or cut bytes, start a segment), so
/// that most inputs hold frames with valid checksums to damage.
func fuzzJournal(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = Array(UnsafeBufferPointer(start: data, count: size))[...]
    let mode = input.popFirst() ?? 0
    let step = UInt64(input.popFirst() ?? 0)
    let firstNames: [UInt64] = [1, 2, 1_000_000, UInt64.max - 1, UInt64.max]
    let first = firstNames[Int(mode >> 1) % firstNames.count]
    let segments = mode & 1 == 0 ? rawSegments(input, first: first, step: step) : builtSegments(input, first: first)
    let directory = Scratch.fresh()
    for segment in segments { Scratch.write(directory + "/" + segmentName(segment.first), segment.bytes) }
    check(directory, segments)
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

struct Segment {
    var first: UInt64
    var bytes: [UInt8] = []
}

struct Frame: Equatable {
    var firstSequence: UInt64
    var recordCount: Int
    var ingestTime: Int64
    var payload: [UInt8]
}

func segmentName(_ first: UInt64) -> String {
    let digits = String(first)
    return "segment." + String(repeating: "0", count: 20 - digits.count) + digits + ".log"
}

func rawSegments(_ input: ArraySlice<UInt8>, first: UInt64, step: UInt64) -> [Segment] {
    var segments: [Segment] = []
    var name = first
    for piece in input.split(separator: Array("SEG!".utf8), omittingEmptySubsequences: false).prefix(3) {
        segments.append(Segment(first: name, bytes: Array(piece)))
        let (next, overflow) = name.addingReportingOverflow(max(step, 1))
        if overflow { break }
        name = next
    }
    return segments
}

func builtSegments(_ input: ArraySlice<UInt8>, first: UInt64) -> [Segment] {
    var input = input
    func byte() -> UInt8 { input.popFirst() ?? 0 }
    var segments = [Segment(first: first)]
    var next = first
    var operations = 0
    while !input.isEmpty, operations < 64 {
        operations += 1
        let last = segments.count - 1
        switch byte() % 8 {
        case 0, 1, 2, 3:
            // A frame as the journal writes it, numbered on or (rarely) not.
            let count = UInt32(byte()) | (byte() & 0x80 == 0 ? 0 : UInt32(byte()) << 24)
            let length = Int(byte() % 48)
            let payload = Array(input.prefix(length))
            input = input.dropFirst(length)
            var sequence = next
            if byte() == 0xFF { sequence = sequence &+ UInt64(byte()) &- 128 }
            segments[last].bytes += encodeFrame(
                firstSequence: sequence, recordCount: count, ingestTime: Int64(byte()) * 1000, payload: payload)
            next = sequence &+ UInt64(count)
        case 4:
            // One byte flipped.
            guard !segments[last].bytes.isEmpty else { continue }
            let position = (Int(byte()) << 8 | Int(byte())) % segments[last].bytes.count
            segments[last].bytes[position] ^= max(byte(), 1)
        case 5:
            // A torn tail.
            segments[last].bytes.removeLast(min(Int(byte()), segments[last].bytes.count))
        case 6:
            // Junk or a preallocated (zeroed) block.
            let length = Int(byte() % 40)
            segments[last].bytes += byte() & 1 == 0 ? Array(input.prefix(length)) : Array(repeating: 0, count: length)
            input = input.dropFirst(length)
        default:
            guard segments.count < 3 else { continue }
            // Usually named after the next sequence, as the journal does; else a little off.
            let offset = Int64(Int8(bitPattern: byte() & 0x80 == 0 ? 0 : byte()))
            let name = UInt64(bitPattern: Int64(bitPattern: next) &+ offset)
            // Names more than 2^40 apart make the journal count ~2^64 lost records between them, and
            // its drop counters trap on that (reported, not fixed in the frame code): kept out.
            let apart = name > first ? name - first : first - name
            guard name >= 1, apart < 1 << 40, !segments.contains(where: { $0.first == name }) else { continue }
            segments.append(Segment(first: name))
            next = name
        }
    }
    return segments
}

func encodeFrame(firstSequence: UInt64, recordCount: UInt32, ingestTime: Int64, payload: [UInt8]) -> [UInt8] {
    var checked: [UInt8] = []
    func append<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<(T.bitWidth / 8) { checked.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
    append(firstSequence)
    append(recordCount)
    append(ingestTime)
    checked += payload
    var frame: [UInt8] = [0xA1]
    for value in [UInt32(payload.count), crc32c(checked)] {
        for index in 0..<4 { frame.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(index)))) }
    }
    return frame + checked
}

/// CRC-32C, bit by bit: independent of the journal's table-driven one.
func crc32c(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return ~crc
}

func read<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, _ offset: Int, _: T.Type) -> T {
    var value: T = 0
    for index in 0..<(T.bitWidth / 8) {
        value |= T(truncatingIfNeeded: bytes[bytes.startIndex + offset + index]) << (8 * index)
    }
    return value
}

/// The frames at the start of a segment that the format trusts, and where the walk stops
/// (`checksums` false: headers only, as recovery walks older segments).
func walk(_ segment: Segment, checksums: Bool) -> (frames: [Frame], end: Int) {
    var frames: [Frame] = []
    var offset = 0
    var expected = segment.first
    let bytes = segment.bytes
    while bytes.count - offset >= 29 {
        let header = bytes[offset..<offset + 29]
        let length = Int(read(header, 1, UInt32.self))
        let count = read(header, 17, UInt32.self)
        let sequence = read(header, 9, UInt64.self)
        guard header.first == 0xA1, length <= 16 << 20, count > 0, sequence == expected,
            bytes.count - offset >= 29 + length
        else { break }
        let frame = bytes[offset..<offset + 29 + length]
        if checksums, crc32c(Array(frame.dropFirst(9))) != read(header, 5, UInt32.self) { break }
        // Numbering past 2^64 - 1 cannot be a frame the journal wrote.
        let (next, overflow) = expected.addingReportingOverflow(UInt64(count))
        if overflow { break }
        frames.append(
            Frame(
                firstSequence: sequence, recordCount: Int(count), ingestTime: read(header, 21, Int64.self),
                payload: Array(frame.dropFirst(29))))
        offset += 29 + length
        expected = next
    }
    return (frames, offset)
}

func readAll(_ journal: Journal) -> [Frame] {
    let reader = journal.reader(after: 0)
    var frames: [Frame] = []
    do {
        while let frame = try reader.next() {
            frames.append(
                Frame(
                    firstSequence: frame.firstSequence, recordCount: frame.recordCount, ingestTime: frame.ingestTime,
                    payload: frame.payload))
            require(frames.count <= 100_000, "the reader does not stop")
        }
    } catch {
        require(false, "reading fails: \(error)")
    }
    return frames
}

func check(_ directory: String, _ segments: [Segment]) {
    let sorted = segments.sorted { $0.first < $1.first }
    let limits = JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096)
    var expected: [Frame] = []
    var recovered = 0
    var cuts: [String: Int64] = [:]
    for (index, segment) in sorted.enumerated() {
        let isLast = index == sorted.count - 1
        expected += walk(segment, checksums: true).frames
        let scanned = walk(segment, checksums: isLast)
        recovered += scanned.frames.count
        if scanned.end < segment.bytes.count { cuts[segmentName(segment.first)] = Int64(scanned.end) }
    }
    let frames: [Frame]
    do {
        let (journal, recovery) = try Journal.open(directory: directory, limits: limits)
        require(recovery.frames == recovered, "recovery found \(recovery.frames) frames, the model \(recovered)")
        var found: [String: Int64] = [:]
        for cut in recovery.cuts { found[cut.segment] = cut.offset }
        require(found == cuts, "recovery cut \(found), the model \(cuts)")
        frames = readAll(journal)
    } catch {
        return require(false, "open fails: \(error)")
    }
    require(frames == expected, "read \(frames.count) frames, the model \(expected.count): \(frames) vs \(expected)")
    do {
        let (journal, recovery) = try Journal.open(directory: directory, limits: limits)
        require(recovery.cuts.isEmpty, "the second open cuts again: \(recovery.cuts)")
        let again = readAll(journal)
        require(again == frames, "the second open reads \(again.count) frames, the first \(frames.count)")
    } catch {
        require(false, "the second open fails: \(error)")
    }
}

/// One private directory per process, emptied for each input. Under /dev/shm when there is one:
/// the journal syncs what it repairs, and a disk would set the pace.
enum Scratch {
    nonisolated(unsafe) static var root: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array("\(base)/hubagent-fuzz-journal-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        return String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    static func fresh() -> String {
        let directory = root + "/relay"
        if let handle = opendir(directory) {
            var names: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(handle)
            for name in names { unlink(directory + "/" + name) }
        } else {
            precondition(mkdir(directory, 0o700) == 0, "mkdir \(directory) failed")
        }
        return directory
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(descriptor >= 0, "open \(path) failed")
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        precondition(written == bytes.count, "short write to \(path)")
        close(descriptor)
    }
}
