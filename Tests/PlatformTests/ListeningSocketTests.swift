import Glibc
import XCTest

@testable import Platform

/// Binding a local server's socket (docs/design.md §8): the mode from the bind's umask, a stale socket replaced,
/// nothing else touched; without systemd's descriptors nothing is inherited.
final class ListeningSocketTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        var template = Array("/tmp/hubagent-ls-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    override func tearDown() {
        unlink(directory + "/s.sock")
        unlink(directory + "/plain")
        rmdir(directory)
    }

    private func mode(_ path: String) -> (kind: UInt32, permissions: UInt32) {
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        return (info.st_mode & S_IFMT, info.st_mode & 0o777)
    }

    /// GIVEN modes 0660 and 0600 and a process umask of 0 WHEN bound THEN the socket has exactly that mode, the
    /// umask is back, and a second bind replaces the first socket.
    func testModeComesFromTheBindAndTheUmaskIsRestored() throws {
        let previous = umask(0)
        defer { umask(previous) }
        let path = directory + "/s.sock"
        let first = try ListeningSocket.bind(path, mode: 0o660, group: nil)
        XCTAssertEqual(mode(path).kind, S_IFSOCK)
        XCTAssertEqual(mode(path).permissions, 0o660)
        XCTAssertFalse(first.isInherited)
        close(first.descriptor)
        let second = try ListeningSocket.bind(path, mode: 0o600, group: nil)
        XCTAssertEqual(mode(path).permissions, 0o600)
        XCTAssertEqual(umask(0), 0)
        second.removeFile()
        XCTAssertNotEqual(access(path, F_OK), 0)
        close(second.descriptor)
    }

    /// GIVEN a regular file where the socket goes WHEN bound THEN it is not removed (EADDRINUSE).
    func testARegularFileIsNotReplaced() {
        let path = directory + "/plain"
        close(open(path, O_WRONLY | O_CREAT, 0o600))
        XCTAssertThrowsError(try ListeningSocket.bind(path, mode: 0o660, group: nil))
        XCTAssertEqual(mode(path).kind, S_IFREG)
    }

    /// GIVEN a process not started by systemd WHEN asked for a socket by name THEN none.
    func testNothingIsInheritedWithoutSystemd() {
        XCTAssertNil(ListeningSocket.inherited(named: "token"))
    }
}
