import Glibc
import XCTest

@testable import Platform
@testable import Relay

/// A temporary directory per test, and small helpers to look at the journal's files from outside.
class JournalTestCase: XCTestCase {
    var root = ""
    var directory: String { root + "/relay" }

    override func setUpWithError() throws {
        var template = Array("/tmp/hubagent-journal-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(created)
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    override func tearDown() {
        Syscall.setPathFaultInjector(nil)
        JournalFiles.removeTree(root)
        super.tearDown()
    }

    func open(
        _ limits: JournalLimits = JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096),
        at path: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws -> (Journal, JournalRecovery) {
        do {
            return try Journal.open(directory: path ?? directory, limits: limits)
        } catch {
            XCTFail("open: \(error)", file: file, line: line)
            throw error
        }
    }

    /// Every frame after `sequence`, read to the end.
    func readAll(_ journal: Journal, after sequence: UInt64 = 0) throws -> [JournalFrame] {
        let reader = journal.reader(after: sequence)
        var frames = [JournalFrame]()
        while let frame = try reader.next() { frames.append(frame) }
        return frames
    }

    func segmentNames(_ path: String? = nil) -> [String] {
        JournalFiles.names(path ?? directory).filter { $0.hasPrefix("segment.") }
    }

    /// A payload whose bytes say which frame it is.
    static func payload(_ index: Int, size: Int = 40) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0) }
    }
}

enum JournalFiles {
    static func names(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names = [String]()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func read(_ path: String) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func truncate(_ path: String, to length: Int) {
        precondition(Glibc.truncate(path, off_t(length)) == 0)
    }

    static func mode(_ path: String) -> UInt32 {
        var info = stat()
        precondition(lstat(path, &info) == 0)
        return info.st_mode & 0o777
    }

    static func removeTree(_ path: String) {
        guard !path.isEmpty else { return }
        for name in names(path) {
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { removeTree(child) } else { unlink(child) }
        }
        rmdir(path)
    }

    /// Open descriptors of this process.
    static func openDescriptors() -> Int { names("/proc/self/fd").count }
}
