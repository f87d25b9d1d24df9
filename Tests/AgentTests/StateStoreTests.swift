import Crypto
import Glibc
import JSON
import Synchronization
import XCTest

@testable import Agent
@testable import Platform

/// docs/design.md §9 against a real temporary directory; faults come from `Syscall.setFaultInjector`.
final class StateStoreTests: XCTestCase {
    private var root = ""
    private var statePath: String { root + "/state" }

    override func setUpWithError() throws {
        var template = Array("/tmp/hubagent-statestore-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(created)
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    override func tearDown() {
        Syscall.setFaultInjector(nil)
        TemporaryTree.remove(root)
        super.tearDown()
    }

    private func makeStore() throws -> StateStore {
        StateStore(directory: try StateDirectory(path: statePath))
    }

    /// A state with every part filled in: both profiles, previous, pending key, onboarding, used fingerprints, archive.
    private func fullState() -> StoredState {
        var identity = Fixture.identity(
            profile: .rsa3072, issuedAt: 1_800_000_000.25, withPrevious: true, fingerprint: "f-2")
        identity.pendingKeyPEM = SecretBytes(
            "-----BEGIN PRIVATE KEY-----\npending \"key\"\n-----END PRIVATE KEY-----\n")
        identity.rotationInProgress = true
        var state = StoredState()
        state.identity = identity
        state.onboarding = PendingOnboarding(
            boardingFingerprint: "f-3",
            keyPEM: SecretBytes("-----BEGIN PRIVATE KEY-----\nonboarding\n-----END PRIVATE KEY-----\n"))
        state.usedBoardingFingerprints = ["f-1", "f-2"]
        state.archivedIdentity = Fixture.identity(
            profile: .sharedSecret, issuedAt: 1_790_000_000, lifetime: nil, withPrevious: false, fingerprint: "f-1",
            tag: "archived")
        return state
    }

    private func stateWith(tag: String) -> StoredState {
        Fixture.stored(Fixture.identity(tag: tag), generation: 0, used: [tag])
    }

    private func generations() throws -> [String] {
        try StateDirectory(path: statePath).names().filter { $0.hasPrefix("state.") }
    }

    private func mode(_ path: String) -> UInt32 {
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0, path)
        return UInt32(info.st_mode & 0o777)
    }

    /// GIVEN a file named with the largest Int as its generation WHEN the store saves THEN it is not taken for a
    /// generation (no overflow, no crash) and the save goes on from the real ones.
    func testAbsurdGenerationNumberIsIgnored() throws {
        let store = try makeStore()
        let saved = try store.save(stateWith(tag: "real"))
        let fd = open(statePath + "/state.9223372036854775807.json", O_CREAT | O_WRONLY | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        let next = try store.save(stateWith(tag: "next"))
        XCTAssertEqual(next.generation, saved.generation + 1)
        XCTAssertEqual(try store.load().state, next)
    }

    /// GIVEN a state larger than `load` reads WHEN saved THEN the save fails (EFBIG) and the generation on disk stays
    /// the one that can be read.
    func testNeverWritesWhatCannotBeReadBack() throws {
        let store = try makeStore()
        let saved = try store.save(stateWith(tag: "small"))
        var huge = saved
        huge.usedBoardingFingerprints = (0..<40).map { String(repeating: "\($0 % 10)", count: 32 * 1024) }
        XCTAssertThrowsError(try store.save(huge)) { XCTAssertEqual(($0 as? SystemError)?.errno, EFBIG) }
        XCTAssertEqual(try store.load().state, saved)
    }

    /// GIVEN a full state WHEN saved and loaded THEN it comes back equal, generation 1, nothing skipped.
    func testRoundTripOfAFullState() throws {
        let store = try makeStore()
        let saved = try store.save(fullState())
        XCTAssertEqual(saved.generation, 1)
        let loaded = try makeStore().load()
        XCTAssertEqual(loaded.skipped, [])
        XCTAssertEqual(loaded.state, saved)
        XCTAssertEqual(loaded.state.identity?.previous?.registrationAccessToken.exposed, "rat-previous")
        XCTAssertEqual(loaded.state.identity?.current.issuedAt, 1_800_000_000.25)
        XCTAssertEqual(loaded.state.archivedIdentity?.profile, .sharedSecret)
    }

    /// GIVEN an empty directory WHEN loaded THEN an empty state, nothing skipped.
    func testLoadOfEmptyDirectory() throws {
        let loaded = try makeStore().load()
        XCTAssertEqual(loaded.state, StoredState())
        XCTAssertEqual(loaded.skipped, [])
    }

    /// GIVEN three saves WHEN the directory is listed THEN only the last two generations exist and the newest loads.
    func testOnlyTwoGenerationsKept() throws {
        let store = try makeStore()
        for tag in ["a", "b", "c"] { try store.save(stateWith(tag: tag)) }
        XCTAssertEqual(try generations(), ["state.2.json", "state.3.json"])
        let loaded = try store.load()
        XCTAssertEqual(loaded.state.generation, 3)
        XCTAssertEqual(loaded.state.usedBoardingFingerprints, ["c"])
    }

    /// GIVEN a corrupt newest generation WHEN loaded THEN the previous one is returned and the corrupt file is reported
    /// in `skipped`.
    func testCorruptNewestFallsBackToPrevious() throws {
        let store = try makeStore()
        try store.save(stateWith(tag: "a"))
        try store.save(stateWith(tag: "b"))
        try StateDirectory(path: statePath).replace(
            "state.3.json", with: Array("{\"format\":1,\"identity\":{\"profile\":".utf8))
        let loaded = try store.load()
        XCTAssertEqual(loaded.state.generation, 2)
        XCTAssertEqual(loaded.state.usedBoardingFingerprints, ["b"])
        XCTAssertEqual(loaded.skipped.count, 1)
        XCTAssertTrue(loaded.skipped[0].hasPrefix(statePath + "/state.3.json: not valid JSON ("), loaded.skipped[0])
    }

    /// GIVEN a newest generation that is JSON but not a state WHEN loaded THEN it is skipped with the reason.
    func testIncompleteNewestFallsBackToPrevious() throws {
        let store = try makeStore()
        try store.save(stateWith(tag: "a"))
        try StateDirectory(path: statePath).replace(
            "state.2.json", with: Array(#"{"format":1,"identity":{"profile":"SHARED_SECRET"}}"#.utf8))
        let loaded = try store.load()
        XCTAssertEqual(loaded.state.generation, 1)
        XCTAssertEqual(loaded.skipped, [statePath + "/state.2.json: identity is incomplete"])
    }

    /// GIVEN a FIFO, a directory and a symbolic link named as newer generations WHEN loaded THEN each is skipped
    /// with what it is and the fix, without blocking on the FIFO, and the real generation loads; the next save keeps
    /// that generation as its predecessor.
    func testNonRegularGenerationsAreSkipped() throws {
        let store = try makeStore()
        try store.save(stateWith(tag: "a"))
        XCTAssertEqual(mkfifo(statePath + "/state.99.json", 0o600), 0)
        XCTAssertEqual(mkdir(statePath + "/state.98.json", 0o700), 0)
        XCTAssertEqual(symlink(statePath + "/state.1.json", statePath + "/state.97.json"), 0)
        let loaded = try store.load()
        XCTAssertEqual(loaded.state.generation, 1)
        XCTAssertEqual(loaded.state.usedBoardingFingerprints, ["a"])
        XCTAssertEqual(
            loaded.skipped,
            [
                statePath + "/state.99.json is a FIFO (named pipe), not a regular file; fix: remove it (rm -r "
                    + statePath + "/state.99.json)",
                statePath + "/state.98.json is a directory, not a regular file; fix: remove it (rm -r " + statePath
                    + "/state.98.json)",
                statePath + "/state.97.json is a symbolic link, not a regular file; fix: remove it (rm " + statePath
                    + "/state.97.json)",
            ])
        let saved = try store.save(loaded.state)
        XCTAssertEqual(saved.generation, 100)
        XCTAssertTrue(try generations().contains("state.1.json"))
        XCTAssertEqual(try store.load().state.generation, 100)
    }

    /// GIVEN a state file with mode 0644, then 0640 WHEN loaded THEN `.insecure` whose fix is `chmod 600 <path>`; at
    /// 0600 it loads.
    func testGroupReadableFileIsRefused() throws {
        let store = try makeStore()
        try store.save(stateWith(tag: "a"))
        let file = statePath + "/state.1.json"
        XCTAssertEqual(chmod(file, 0o644), 0)
        XCTAssertThrowsError(try store.load()) { error in
            guard case .insecure(let problem)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.path, file)
            XCTAssertEqual(problem.fix, "chmod 600 \(file)")
            XCTAssertEqual(problem.problem, "mode 644 lets other users read a credential")
        }
        XCTAssertEqual(chmod(file, 0o640), 0)
        XCTAssertThrowsError(try store.load(), "group-readable") { error in
            guard case .insecure(let problem)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.fix, "chmod 600 \(file)")
        }
        XCTAssertEqual(chmod(file, 0o600), 0)
        XCTAssertNoThrow(try store.load())
    }

    /// GIVEN a state directory with mode 0755, then 0750 WHEN opened THEN `.insecure` whose fix is `chmod 700 <path>`;
    /// at 0700 it opens.
    func testWorldReadableDirectoryIsRefused() throws {
        XCTAssertEqual(mkdir(statePath, 0o700), 0)
        XCTAssertEqual(chmod(statePath, 0o755), 0)
        XCTAssertThrowsError(try StateDirectory(path: statePath)) { error in
            guard case .insecure(let problem)? = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.fix, "chmod 700 \(self.statePath)")
            XCTAssertTrue(problem.description.hasSuffix("; fix: chmod 700 \(self.statePath)"))
        }
        XCTAssertEqual(chmod(statePath, 0o750), 0)
        XCTAssertThrowsError(try StateDirectory(path: statePath), "group-readable")
        XCTAssertEqual(chmod(statePath, 0o700), 0)
        XCTAssertNoThrow(try StateDirectory(path: statePath))
    }

    /// GIVEN a missing state directory WHEN opened THEN it is created 0700, and saved files are 0600.
    func testCreatedModes() throws {
        let store = try makeStore()
        XCTAssertEqual(mode(statePath), 0o700)
        try store.save(fullState())
        XCTAssertEqual(mode(statePath + "/state.1.json"), 0o600)
    }

    /// GIVEN temp files left by a crash WHEN stale files are removed THEN exactly those go, state files stay.
    func testStaleTemporaryFilesRemoved() throws {
        let store = try makeStore()
        try store.save(stateWith(tag: "a"))
        let directory = try StateDirectory(path: statePath)
        for name in [".state.2.json.tmp.123", ".x.tmp.123"] {
            let fd = open(statePath + "/" + name, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            XCTAssertGreaterThanOrEqual(fd, 0)
            close(fd)
        }
        XCTAssertEqual(Set(directory.removeStaleTemporaryFiles()), [".state.2.json.tmp.123", ".x.tmp.123"])
        XCTAssertEqual(directory.names(), ["state.1.json"])
        XCTAssertEqual(directory.removeStaleTemporaryFiles(), [])
    }

    /// GIVEN `write` (ENOSPC), `fsync` (EIO), `rename`, `open` or `close` failing at each call position of a save WHEN
    /// saving THEN the save throws, the previous generation still loads intact, and no temp file remains.
    func testFaultAtEveryCallPositionKeepsPreviousGeneration() throws {
        let faults: [(Syscall.Name, Int32)] = [
            (.write, ENOSPC), (.fsync, EIO), (.rename, EIO), (.open, EMFILE), (.close, EIO),
        ]
        var injected = 0
        for (name, code) in faults {
            for position in 1...6 {
                TemporaryTree.remove(statePath)
                let store = try makeStore()
                let previous = try store.save(stateWith(tag: "previous"))
                let calls = CallCounter()
                Syscall.setFaultInjector { called in
                    guard called == name else { return nil }
                    return calls.next() == position ? code : nil
                }
                let result = Result { () throws(SystemError) in try store.save(stateWith(tag: "next")) }
                Syscall.setFaultInjector(nil)
                let reached = calls.count >= position
                let context = "\(name) failing at call \(position)"
                let leftovers = try StateDirectory(path: statePath).names().filter { $0.contains(".tmp.") }
                XCTAssertEqual(leftovers, [], context)
                guard reached else {
                    XCTAssertNoThrow(try result.get(), context)
                    break
                }
                let renamed = try StateDirectory(path: statePath).names().contains("state.2.json")
                if case .success = result {
                    // Only the clean-up of older generations may fail without failing the save.
                    XCTAssertTrue(renamed, context)
                    continue
                }
                injected += 1
                guard case .failure(let error) = result else { return XCTFail("\(context): \(result)") }
                XCTAssertEqual(error.errno, code, context)
                // The previous generation is on disk, complete.
                let bytes = try XCTUnwrap(try StateDirectory(path: statePath).read("state.1.json"), context)
                XCTAssertEqual(try StoredState(json: JSONValueBridge.parse(bytes)), previous, context)
                let loaded = try store.load()
                XCTAssertEqual(loaded.skipped, [], context)
                if renamed {
                    // The failure came after the rename (fsync of the directory): either state is whole.
                    XCTAssertEqual(name, .fsync, context)
                    XCTAssertEqual(loaded.state.usedBoardingFingerprints, ["next"], context)
                } else {
                    XCTAssertEqual(loaded.state, previous, context)
                }
            }
        }
        XCTAssertGreaterThanOrEqual(injected, 6)
    }
}

/// Counts the calls a fault injector sees; injectors run on any thread.
final class CallCounter: Sendable {
    private let calls = Mutex(0)

    /// Counts one call; returns its 1-based position.
    func next() -> Int {
        calls.withLock {
            $0 += 1
            return $0
        }
    }

    var count: Int { calls.withLock { $0 } }
}

/// Reads a state file's JSON without going through `StateStore`.
enum JSONValueBridge {
    static func parse(_ bytes: [UInt8]) throws -> JSONValue { try JSONValue.parse(bytes) }
}

/// Recursive removal of a test's temporary tree.
enum TemporaryTree {
    static func remove(_ path: String) {
        guard !path.isEmpty, let directory = opendir(path) else {
            unlink(path)
            return
        }
        var names = [String]()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
        for name in names {
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { remove(child) } else { unlink(child) }
        }
        rmdir(path)
    }
}
