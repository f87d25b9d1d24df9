import Glibc
import XCTest

@testable import Platform

/// The state directory's lock (docs/design.md §9) and the process hardening of `hubagent run`.
final class StateLockTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        var template = Array("/tmp/hubagent-lock-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(directory, 0o700)
    }

    override func tearDown() {
        unlink(directory + "/" + StateLock.fileName)
        rmdir(directory)
    }

    /// GIVEN a state directory locked through one StateDirectory WHEN a second one (another open file description,
    /// as another process has) locks it THEN `.held` with this pid, and the message names the pid and the lock
    /// file; once the first lock is released the second succeeds.
    func testSecondLockIsRefusedWithTheHoldersPid() throws {
        var first: StateLock? = try StateDirectory(path: directory).lock()
        XCTAssertNotNil(first)
        let second = try StateDirectory(path: directory)
        XCTAssertThrowsError(try second.lock()) { error in
            XCTAssertEqual(error as? StateLockError, .held(directory: directory, pid: getpid()))
            let text = "\(error)"
            XCTAssertTrue(text.contains("hubagent pid \(getpid())"), text)
            XCTAssertTrue(text.contains(directory + "/.lock"), text)
        }
        XCTAssertEqual(try StateLock.holder(ofDirectory: directory), .some(getpid()))
        first = nil
        XCTAssertNil(try StateLock.holder(ofDirectory: directory) ?? nil)
        XCTAssertNoThrow(try second.lock())
    }

    /// GIVEN a held lock WHEN the directory's files are checked as the daemon and `hubagent check` do THEN the lock
    /// file is 0600, owned by this user, holds the pid, and is neither a generation nor a temp file.
    func testLockFileKeepsTheDirectoryRules() throws {
        let state = try StateDirectory(path: directory)
        let lock = try state.lock()
        let entries = try DirectoryEntry.list(directory)
        XCTAssertEqual(entries.map(\.name), [".lock"])
        XCTAssertEqual(entries[0].kind, .file)
        XCTAssertEqual(
            StateDirectory.violations(uid: entries[0].uid, mode: entries[0].mode, owner: geteuid(), isDirectory: false),
            [])
        XCTAssertEqual(try state.read(".lock"), Array("\(getpid())\n".utf8))
        XCTAssertEqual(state.removeStaleTemporaryFiles(), [])
        withExtendedLifetime(lock) {}
    }

    /// GIVEN no lock file WHEN asked who holds it THEN nobody.
    func testNoLockFileMeansNotLocked() throws {
        XCTAssertNil(try StateLock.holder(ofDirectory: directory) ?? nil)
    }

    /// GIVEN this test process WHEN core dumps are disabled THEN it is not dumpable and RLIMIT_CORE is 0 (soft and
    /// hard). Irreversible for the test process, which is harmless.
    func testDisableCoreDumps() throws {
        try ProcessHardening.disableCoreDumps()
        XCTAssertFalse(ProcessHardening.isDumpable)
        var limit = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit), 0)
        XCTAssertEqual(limit.rlim_cur, 0)
        XCTAssertEqual(limit.rlim_max, 0)
    }

    /// GIVEN a soft descriptor limit below the hard one WHEN raised THEN soft equals hard.
    func testRaiseDescriptorLimit() throws {
        var limit = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit), 0)
        var lowered = rlimit(rlim_cur: min(256, limit.rlim_max), rlim_max: limit.rlim_max)
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lowered), 0)
        XCTAssertEqual(try ProcessHardening.raiseDescriptorLimit(), UInt64(limit.rlim_max))
        XCTAssertEqual(ProcessHardening.descriptorLimit, UInt64(limit.rlim_max))
        var restored = limit
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &restored)
    }
}
