// The cursor file `cursor` (docs/relay.md §3, "Journal format"), 56 bytes, little-endian:
//
//   0  "HJC1"                      magic and version
//   4  acknowledged (u64)          every record with a sequence number <= it is done
//  12  next sequence (u64)         a floor for the next number handed out, so none is reused
//                                  after every segment was deleted
//  20  dropped full, age, corrupt (3 × u64), dead-letter lines trimmed (u64)
//  52  CRC-32C of bytes 0 ..< 52 (u32)
//
// Written with the state-file recipe (StateDirectory.replace): a reader sees the old file or the
// new one, never a mix.

struct JournalCursor: Equatable {
    var acknowledged: UInt64 = 0
    var nextSequence: UInt64 = 1
    var drops = JournalDrops()

    static let fileName = "cursor"
    static let size = 56
    private static let magic: [UInt8] = Array("HJC1".utf8)

    func encoded() -> [UInt8] {
        var bytes = Self.magic
        for value in [acknowledged, nextSequence, drops.full, drops.age, drops.corrupt, drops.deadLettersTrimmed] {
            FrameFormat.append(value, to: &bytes)
        }
        FrameFormat.append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// The cursor in `bytes`, or why they are not one.
    struct Defect: Error, Equatable {
        var reason: String
    }

    static func decode(_ bytes: [UInt8]) -> Result<JournalCursor, Defect> {
        guard bytes.count == size else { return .failure(Defect(reason: "\(bytes.count) bytes, not \(size)")) }
        guard Array(bytes[0..<4]) == magic else { return .failure(Defect(reason: "bad magic")) }
        let stored = UInt32(truncatingIfNeeded: FrameFormat.read(bytes, at: 52, size: 4))
        guard CRC32C.checksum(bytes[0..<52]) == stored else { return .failure(Defect(reason: "bad CRC-32C")) }
        var cursor = JournalCursor()
        cursor.acknowledged = FrameFormat.read(bytes, at: 4, size: 8)
        cursor.nextSequence = FrameFormat.read(bytes, at: 12, size: 8)
        cursor.drops.full = FrameFormat.read(bytes, at: 20, size: 8)
        cursor.drops.age = FrameFormat.read(bytes, at: 28, size: 8)
        cursor.drops.corrupt = FrameFormat.read(bytes, at: 36, size: 8)
        cursor.drops.deadLettersTrimmed = FrameFormat.read(bytes, at: 44, size: 8)
        guard cursor.nextSequence > cursor.acknowledged else {
            return .failure(Defect(reason: "next sequence not after acknowledged"))
        }
        return .success(cursor)
    }
}
