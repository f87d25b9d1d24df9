import Dispatch
import Glibc
import Synchronization
import XCTest

@testable import Platform

/// Collects the names a watcher reports and fulfils an expectation once a wanted name is seen.
final class NameCollector: @unchecked Sendable {
    private let names = Mutex<Set<String>>([])
    private let wanted: String
    private let expectation: XCTestExpectation

    init(wanted: String, expectation: XCTestExpectation) {
        self.wanted = wanted
        self.expectation = expectation
    }

    func receive(_ batch: Set<String>) {
        let first = names.withLock { seen -> Bool in
            let had = seen.contains(wanted)
            seen.formUnion(batch)
            return !had && seen.contains(wanted)
        }
        if first { expectation.fulfill() }
    }

    var seen: Set<String> { names.withLock { $0 } }
}

final class DirectoryWatcherTests: XCTestCase {
    private var root = ""
    private let queue = DispatchQueue(label: "DirectoryWatcherTests")

    override func setUpWithError() throws {
        var template = Array("/tmp/hubagent-watcher-XXXXXX".utf8CString)
        XCTAssertNotNil(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) })
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    override func tearDown() {
        if let directory = opendir(root) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(root + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(root)
        super.tearDown()
    }

    private func write(_ name: String, _ text: String, flags: Int32 = O_WRONLY | O_CREAT | O_TRUNC) {
        let fd = open(root + "/" + name, flags, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0, name)
        XCTAssertEqual(Glibc.write(fd, text, text.utf8.count), text.utf8.count)
        XCTAssertEqual(close(fd), 0)
    }

    /// GIVEN a watched directory WHEN a file is renamed into it (the operator's atomic copy) THEN the callback receives
    /// its name.
    func testRenameIntoDirectoryIsReported() throws {
        let reported = XCTestExpectation(description: "boarding.json reported")
        let collector = NameCollector(wanted: "boarding.json", expectation: reported)
        let watcher = try DirectoryWatcher(path: root, queue: queue) { collector.receive($0) }
        write(".boarding.json.part", "{}")
        XCTAssertEqual(rename(root + "/.boarding.json.part", root + "/boarding.json"), 0)
        XCTAssertEqual(XCTWaiter.wait(for: [reported], timeout: 5), .completed)
        XCTAssertTrue(collector.seen.contains("boarding.json"))
        withExtendedLifetime(watcher) {}
    }

    /// GIVEN an existing file WHEN it is rewritten in place THEN the callback receives its name once the writer closes
    /// it.
    func testInPlaceWriteIsReported() throws {
        write("hubagent.conf", "log_level = info\n")
        let reported = XCTestExpectation(description: "hubagent.conf reported")
        let collector = NameCollector(wanted: "hubagent.conf", expectation: reported)
        let watcher = try DirectoryWatcher(path: root, queue: queue) { collector.receive($0) }
        write("hubagent.conf", "log_level = debug\n", flags: O_WRONLY | O_TRUNC)
        XCTAssertEqual(XCTWaiter.wait(for: [reported], timeout: 5), .completed)
        XCTAssertEqual(collector.seen, ["hubagent.conf"])
        withExtendedLifetime(watcher) {}
    }

    /// GIVEN a path that does not exist WHEN watched THEN a SystemError naming inotify_add_watch.
    func testMissingDirectoryThrows() {
        XCTAssertThrowsError(try DirectoryWatcher(path: root + "/missing", queue: queue) { _ in }) { error in
            XCTAssertEqual((error as? SystemError)?.call, "inotify_add_watch")
            XCTAssertEqual((error as? SystemError)?.errno, ENOENT)
        }
    }
}
