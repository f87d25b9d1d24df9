import Glibc
import XCTest

@testable import Platform

/// The positional file the relay journal writes (AppendOnlyFile) and the free-space query, on a real directory.
final class AppendOnlyFileTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/hubagent-appendonly-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(created)
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    override func tearDown() {
        Syscall.setPathFaultInjector(nil)
        for name in ["a", "b", "link"] { unlink(root + "/" + name) }
        rmdir(root)
        super.tearDown()
    }

    /// GIVEN a new file WHEN written at offsets, read, truncated and synced THEN the bytes are where they were
    /// written, the mode is 0600, and creating it again fails (O_EXCL).
    func testWriteReadTruncate() throws {
        let path = root + "/a"
        let file = try AppendOnlyFile.create(path)
        try file.write([1, 2, 3, 4], at: 0)
        try file.write([5, 6], at: 4)
        try file.syncData()
        XCTAssertEqual(try file.size(), 6)
        XCTAssertEqual(try file.read(count: 3, at: 2), [3, 4, 5])
        XCTAssertEqual(try file.read(count: 10, at: 4), [5, 6], "short only at the end")
        try file.truncate(to: 2)
        XCTAssertEqual(try file.read(count: 10, at: 0), [1, 2])
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertThrowsError(try AppendOnlyFile.create(path)) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EEXIST)
        }
        let again = try AppendOnlyFile.open(path, writable: false)
        XCTAssertEqual(try again?.read(count: 10, at: 0), [1, 2])
    }

    /// GIVEN a missing file, one others can read and a symbolic link WHEN opened THEN nil, insecure, refused.
    func testOpenRefusesWhatTheDaemonDidNotWrite() throws {
        XCTAssertNil(try AppendOnlyFile.open(root + "/missing", writable: true))
        let fd = Glibc.open(root + "/b", O_WRONLY | O_CREAT, 0o644)
        close(fd)
        chmod(root + "/b", 0o644)
        XCTAssertThrowsError(try AppendOnlyFile.open(root + "/b", writable: true)) { error in
            guard case .insecure(let problem)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.fix, "chmod 600 \(root)/b")
        }
        _ = try AppendOnlyFile.create(root + "/a")
        XCTAssertEqual(symlink(root + "/a", root + "/link"), 0)
        XCTAssertThrowsError(try AppendOnlyFile.open(root + "/link", writable: false)) { error in
            guard case .system(let system)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertTrue(system.isSymbolicLinkRefused)
        }
    }

    /// GIVEN the injector failing `write` and `fsync` WHEN pwrite, ftruncate and fdatasync run THEN they fail with
    /// the injected errno: storage faults reach the journal's calls too.
    func testFaultInjectorReachesPositionalCalls() throws {
        let file = try AppendOnlyFile.create(root + "/a")
        Syscall.setPathFaultInjector { name, _ in name == .write ? ENOSPC : name == .fsync ? EIO : nil }
        XCTAssertThrowsError(try file.write([1], at: 0)) { XCTAssertEqual(($0 as? SystemError)?.errno, ENOSPC) }
        XCTAssertThrowsError(try file.truncate(to: 0)) { XCTAssertEqual(($0 as? SystemError)?.call, "ftruncate") }
        XCTAssertThrowsError(try file.syncData()) { error in
            XCTAssertEqual(error as? SystemError, SystemError("fdatasync", root + "/a", errno: EIO))
        }
        Syscall.setPathFaultInjector(nil)
        try file.write([1], at: 0)
        XCTAssertEqual(try file.size(), 1)
    }

    /// GIVEN this directory WHEN its file system is asked THEN some room, and our files' bytes add up.
    func testFreeSpaceAndBytesInUse() throws {
        XCTAssertGreaterThan(try FileSystemSpace.available(at: root), 0)
        let file = try AppendOnlyFile.create(root + "/a")
        try file.write([UInt8](repeating: 7, count: 1000), at: 0)
        XCTAssertEqual(try FileSystemSpace.regularFileBytes(in: root), 1000)
        XCTAssertEqual(try FileSystemSpace.regularFileBytes(in: root + "/missing"), 0)
        XCTAssertThrowsError(try FileSystemSpace.available(at: root + "/missing"))
    }
}
