public import JSON
import Platform

/// A record the relay gave up on: refused by the exchange (400), too large for any request (413),
/// or no longer valid after a configuration change (docs/relay.md §2, §4).
public struct DeadLetter: Equatable, Sendable {
    public var sequence: UInt64
    /// Milliseconds since the epoch, when it was given up.
    public var time: Int64
    public var reason: String
    /// The exchange request that was refused, when there was one.
    public var correlationID: String?
    /// The record itself, as the operator should see it.
    public var record: JSONValue

    public init(sequence: UInt64, time: Int64, reason: String, correlationID: String? = nil, record: JSONValue) {
        self.sequence = sequence
        self.time = time
        self.reason = reason
        self.correlationID = correlationID
        self.record = record
    }

    var json: JSONValue {
        .object([
            ("seq", .number(Double(sequence))), ("time", .number(Double(time))), ("reason", .string(reason)),
            ("correlationId", correlationID.map(JSONValue.string) ?? .null), ("record", record),
        ])
    }

    init?(_ json: JSONValue) {
        guard let sequence = json["seq"]?.int64Value, sequence >= 0, let time = json["time"]?.int64Value,
            let reason = json["reason"]?.stringValue, let record = json["record"]
        else { return nil }
        self.init(
            sequence: UInt64(sequence), time: time, reason: reason, correlationID: json["correlationId"]?.stringValue,
            record: record)
    }
}

/// `dead-letters.ndjson` in the journal's directory (0600): one JSON line per dead record, for
/// `hubagent relay dead-letters`. Bounded: past its cap the oldest lines are removed (rewriting
/// the file with the state-file recipe) and counted; its bytes count against `relay_max_disk`.
/// Each append is synced: dead letters are rare, and the cursor moves past them right after.
/// Not thread-safe, like the journal that owns it.
// Unchecked: used only on the journal's queue, like the journal.
public final class DeadLetters: @unchecked Sendable {
    public static let fileName = "dead-letters.ndjson"

    public let path: String
    public let maxBytes: Int64
    /// Lines in the file.
    public private(set) var count: Int = 0
    public private(set) var bytes: Int64 = 0
    /// Lines removed to stay under the cap, across restarts (kept in the journal's cursor).
    public internal(set) var trimmed: UInt64 = 0

    private let directory: StateDirectory
    private let handle: DirectoryHandle
    private var file: AppendOnlyFile?

    init(directory: StateDirectory, handle: DirectoryHandle, path: String, maxBytes: Int64) throws(JournalError) {
        self.directory = directory
        self.handle = handle
        self.path = path
        self.maxBytes = maxBytes
        do { file = try AppendOnlyFile.open(path, writable: true) } catch { throw .directory(error) }
        guard let file else { return }
        var content = try readAll(file, limit: maxBytes)
        if content.isEmpty == false, content.count < Int(truncatingIfNeeded: (try? file.size()) ?? 0) {
            // Far over the cap (a smaller cap since, or not our file): keep the newest whole lines.
            content = Array(content.drop { $0 != UInt8(ascii: "\n") }.dropFirst())
            do { try directory.replace(Self.fileName, with: content) } catch { throw .storage(error) }
            self.file = nil
        }
        // A line cut short by a crash is dropped: everything after the last newline.
        let complete = content.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        if complete < content.count {
            let writable = try openForAppend()
            do { try writable.truncate(to: Int64(complete)) } catch { throw .storage(error) }
        }
        bytes = Int64(complete)
        count = content[0..<complete].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    /// Characters of a record kept in a line that would otherwise pass `lineLimit`.
    static let shortenedRecord = 1024

    /// The longest line kept as it is.
    private var lineLimit: Int { Int(min(16 << 10, max(2048, maxBytes / 8))) }

    /// Appends `letters` (one synced write), trimming the oldest lines first when the cap needs it.
    public func append(_ letters: [DeadLetter]) throws(JournalError) {
        guard !letters.isEmpty else { return }
        var lines = [UInt8]()
        for letter in letters {
            var line = Array(letter.json.serialized.utf8)
            if line.count > lineLimit {
                // A BIG_STRING value can be 100,000 characters: keep the start, so one record never
                // takes the cap for itself.
                var shortened = letter
                let text = letter.record.serialized
                shortened.record = .object([("truncated", .string(String(text.prefix(Self.shortenedRecord)) + "…"))])
                line = Array(shortened.json.serialized.utf8)
            }
            lines += line
            lines.append(UInt8(ascii: "\n"))
        }
        guard Int64(lines.count) <= maxBytes / 2 else { throw .tooLarge(bytes: lines.count, limit: Int(maxBytes / 2)) }
        if bytes + Int64(lines.count) > maxBytes { try trim(keeping: maxBytes / 2 - Int64(lines.count)) }
        let file = try openForAppend()
        do {
            try file.write(lines, at: bytes)
            try file.syncData()
        } catch {
            try? file.truncate(to: bytes)
            throw .storage(error)
        }
        bytes += Int64(lines.count)
        count += letters.count
    }

    public func append(_ letter: DeadLetter) throws(JournalError) { try append([letter]) }

    /// The newest `limit` dead letters, oldest first.
    public func list(limit: Int) throws(JournalError) -> [DeadLetter] {
        guard limit > 0, let file = try existingFile() else { return [] }
        let content = try readAll(file)
        return try Self.parse(content[0..<min(content.count, Int(bytes))], path: path, limit: limit)
    }

    /// The newest `limit` dead letters of the journal in `directory`, oldest first, without changing
    /// anything there: for `hubagent relay dead-letters` while the daemon runs. A line still being
    /// written is left out.
    public static func list(directory: String, limit: Int) throws(JournalError) -> [DeadLetter] {
        let path = directory + "/" + fileName
        let opened: AppendOnlyFile?
        do { opened = try AppendOnlyFile.open(path, writable: false) } catch { throw .directory(error) }
        guard let file = opened, limit > 0 else { return [] }
        let content: [UInt8]
        do { content = try file.read(count: Int(try file.size()), at: 0) } catch { throw .storage(error) }
        let complete = content.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return try parse(content[0..<complete], path: path, limit: limit)
    }

    private static func parse(_ content: ArraySlice<UInt8>, path: String, limit: Int) throws(JournalError)
        -> [DeadLetter]
    {
        let lines = content.split(separator: UInt8(ascii: "\n"))
        var result = [DeadLetter]()
        for (index, line) in lines.enumerated().suffix(limit) {
            guard let json = try? JSONValue.parse(Array(line)), let letter = DeadLetter(json) else {
                throw .corrupt(path: path, line: index + 1, reason: "not a dead-letter line")
            }
            result.append(letter)
        }
        return result
    }

    /// Keeps the newest lines that fit in `budget` bytes.
    private func trim(keeping budget: Int64) throws(JournalError) {
        guard let file = try existingFile() else { return }
        var content = try readAll(file, limit: maxBytes)
        if content.isEmpty == false, content.count < Int(truncatingIfNeeded: (try? file.size()) ?? 0) {
            // Far over the cap (a smaller cap since, or not our file): keep the newest whole lines.
            content = Array(content.drop { $0 != UInt8(ascii: "\n") }.dropFirst())
            do { try directory.replace(Self.fileName, with: content) } catch { throw .storage(error) }
            self.file = nil
        }
        var lines = content[0..<min(content.count, Int(bytes))].split(separator: UInt8(ascii: "\n"))
        var kept: Int64 = 0
        var keepFrom = lines.count
        while keepFrom > 0, kept + Int64(lines[keepFrom - 1].count + 1) <= budget {
            kept += Int64(lines[keepFrom - 1].count + 1)
            keepFrom -= 1
        }
        let removed = keepFrom
        lines.removeFirst(keepFrom)
        var rewritten = [UInt8]()
        for line in lines {
            rewritten += line
            rewritten.append(UInt8(ascii: "\n"))
        }
        do { try directory.replace(Self.fileName, with: rewritten) } catch { throw .storage(error) }
        self.file = nil
        bytes = Int64(rewritten.count)
        count = lines.count
        trimmed += UInt64(removed)
    }

    /// The file, opened again after a rewrite; nil when there is none.
    private func existingFile() throws(JournalError) -> AppendOnlyFile? {
        if let file { return file }
        do { file = try AppendOnlyFile.open(path, writable: true) } catch { throw .directory(error) }
        return file
    }

    private func openForAppend() throws(JournalError) -> AppendOnlyFile {
        if let existing = try existingFile() { return existing }
        do {
            let created = try AppendOnlyFile.create(path)
            // The new name must survive a crash like its content.
            try Syscall.fsync(handle.descriptor, subject: directory.path)
            file = created
            return created
        } catch {
            throw .storage(error)
        }
    }

    /// The whole file, or its last `limit` bytes when it is larger (at open, a file far over its cap).
    private func readAll(_ file: AppendOnlyFile, limit: Int64? = nil) throws(JournalError) -> [UInt8] {
        do {
            let size = try file.size()
            let start = max(0, size - (limit ?? size))
            return try file.read(count: Int(size - start), at: start)
        } catch {
            throw .storage(error)
        }
    }
}
