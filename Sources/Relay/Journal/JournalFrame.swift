// Frame layout (docs/relay.md, "Journal format"). All integers little-endian.
//
//   offset  size  field
//        0     1  magic and version: 0xA1 (format 1); never 0x00, the byte a torn or
//                 preallocated tail reads as
//        1     4  payload length N (u32)
//        5     4  CRC-32C of bytes 9 ..< 29 + N: every header field after this one, then the payload
//        9     8  first sequence number (u64): records are numbered, not frames
//       17     4  record count (u32, at least 1)
//       21     8  ingest time (i64, milliseconds since the epoch)
//       29     N  payload (the compact record form, opaque to the journal)
//
// A segment is a sequence of frames and nothing else; a frame's first sequence is the previous
// frame's last plus one, the first frame's is the number in the segment's name.

/// One frame of the journal: the records of one accepted ingest request.
public struct JournalFrame: Equatable, Sendable {
    public var firstSequence: UInt64
    public var recordCount: Int
    /// Milliseconds since the epoch, when the request was accepted.
    public var ingestTime: Int64
    public var payload: [UInt8]

    public init(firstSequence: UInt64, recordCount: Int, ingestTime: Int64, payload: [UInt8]) {
        self.firstSequence = firstSequence
        self.recordCount = recordCount
        self.ingestTime = ingestTime
        self.payload = payload
    }

    public var lastSequence: UInt64 { firstSequence + UInt64(recordCount) - 1 }
    public var sequences: ClosedRange<UInt64> { firstSequence...lastSequence }
}

/// Why bytes at some position of a segment are not a frame the journal trusts.
public enum FrameDefect: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than a header before the end of the file.
    case shortHeader(bytes: Int)
    /// The first byte is not 0xA1 (zeroes: a torn tail or a preallocated block).
    case badMagic(UInt8)
    /// A payload length beyond what the journal ever writes.
    case badLength(UInt32)
    /// The header promises more bytes than the file holds.
    case shortFrame(needed: Int, present: Int)
    case badChecksum(stored: UInt32, computed: UInt32)
    case noRecords
    /// Records numbered past 2^64 - 1: no frame the journal wrote (a damaged header or segment name).
    case sequenceOverflow(first: UInt64, records: Int)
    /// Not the sequence number that follows the previous frame.
    case sequenceGap(expected: UInt64, found: UInt64)

    public var description: String {
        switch self {
        case .shortHeader(let bytes): "short header (\(bytes) of \(FrameFormat.headerSize) bytes)"
        case .badMagic(let byte): "bad magic byte 0x\(String(byte, radix: 16))"
        case .badLength(let length): "bad payload length \(length)"
        case .shortFrame(let needed, let present): "short frame (\(present) of \(needed) bytes)"
        case .badChecksum(let stored, let computed):
            "bad CRC-32C (stored \(String(stored, radix: 16)), computed \(String(computed, radix: 16)))"
        case .noRecords: "frame without records"
        case .sequenceOverflow(let first, let records): "\(records) records from sequence \(first) overflow 64 bits"
        case .sequenceGap(let expected, let found): "sequence \(found) where \(expected) was expected"
        }
    }
}

/// Encoding and checking of frames; see the layout above.
enum FrameFormat {
    static let magic: UInt8 = 0xA1
    static let headerSize = 29
    /// The offset of the first byte the checksum covers.
    static let checkedFrom = 9
    /// A request is at most `ingest_max_request` (1 MiB, docs/relay.md §1) and its compact form
    /// smaller; anything near this is not a frame the journal wrote.
    static let maxPayload = 16 << 20

    struct Header: Equatable {
        var payloadLength: Int
        var checksum: UInt32
        var firstSequence: UInt64
        var recordCount: Int
        var ingestTime: Int64

        var frameBytes: Int { FrameFormat.headerSize + payloadLength }
        var nextSequence: UInt64 { firstSequence + UInt64(recordCount) }
    }

    static func encode(firstSequence: UInt64, recordCount: Int, ingestTime: Int64, payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(headerSize + payload.count)
        bytes.append(magic)
        append(UInt32(payload.count), to: &bytes)
        append(UInt32(0), to: &bytes)
        append(firstSequence, to: &bytes)
        append(UInt32(recordCount), to: &bytes)
        append(UInt64(bitPattern: ingestTime), to: &bytes)
        bytes.append(contentsOf: payload)
        let crc = CRC32C.checksum(bytes[checkedFrom...])
        for index in 0..<4 { bytes[5 + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
        return bytes
    }

    /// The header in `bytes` (at least `headerSize` of them), checked as far as a header alone can be.
    static func parseHeader(_ bytes: [UInt8]) -> Result<Header, FrameDefect> {
        guard bytes.count >= headerSize else { return .failure(.shortHeader(bytes: bytes.count)) }
        guard bytes[0] == magic else { return .failure(.badMagic(bytes[0])) }
        let length = UInt32(truncatingIfNeeded: read(bytes, at: 1, size: 4))
        guard length <= maxPayload else { return .failure(.badLength(length)) }
        let count = UInt32(truncatingIfNeeded: read(bytes, at: 17, size: 4))
        guard count > 0 else { return .failure(.noRecords) }
        // `nextSequence` must exist: a header numbered to the very end would trap every reader.
        let first = read(bytes, at: 9, size: 8)
        guard first <= UInt64.max - UInt64(count) else {
            return .failure(.sequenceOverflow(first: first, records: Int(count)))
        }
        return .success(
            Header(
                payloadLength: Int(length), checksum: UInt32(truncatingIfNeeded: read(bytes, at: 5, size: 4)),
                firstSequence: first, recordCount: Int(count),
                ingestTime: Int64(bitPattern: read(bytes, at: 21, size: 8))))
    }

    /// nil when the CRC of a whole frame (`frame.count == header.frameBytes`) matches.
    static func verify(_ frame: [UInt8], _ header: Header) -> FrameDefect? {
        let computed = CRC32C.checksum(frame[checkedFrom...])
        return computed == header.checksum ? nil : .badChecksum(stored: header.checksum, computed: computed)
    }

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for index in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    static func read(_ bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<size { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }
}
