import Glibc
import XCTest

@testable import Agent

/// The operator's files are opened without blocking and read only when they are regular files: a FIFO in their
/// place would wait for a writer forever (at start before READY, later on the work queue).
final class ConfigurationFileTests: XCTestCase {
    private var root = ""

    override func setUp() {
        var template = Array("/tmp/hubagent-conffile-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    override func tearDown() { TemporaryTree.remove(root) }

    /// GIVEN a FIFO as boarding.json, datasources.yaml and hubagent.conf WHEN each is read THEN at once a
    /// ConfigurationError naming the file, what it is, and the fix.
    func testFIFOsAreRefusedWithoutBlocking() throws {
        for name in ["boarding.json", "datasources.yaml", "hubagent.conf"] {
            XCTAssertEqual(mkfifo(root + "/" + name, 0o644), 0)
        }
        let expected = { (name: String) in
            ConfigurationError(
                file: self.root + "/" + name, message: "is a FIFO (named pipe), not a regular file",
                fix: "replace it with a regular file (rm \(self.root)/\(name), then copy the file in place)")
        }
        guard case .failure(let boarding)? = BoardingSource(directory: root).read() else { return XCTFail() }
        XCTAssertEqual(boarding, expected("boarding.json"))
        guard case .failure(let settings) = Settings.read(root + "/hubagent.conf") else { return XCTFail() }
        XCTAssertEqual(settings, expected("hubagent.conf"))
        guard case .failure(let yaml)? = ConfigurationFile.read(root + "/datasources.yaml", limit: 1000) else {
            return XCTFail()
        }
        XCTAssertEqual(yaml, expected("datasources.yaml"))
        XCTAssertEqual(ConfigurationFile.notRegular(root + "/boarding.json"), expected("boarding.json"))
    }

    /// GIVEN a directory as boarding.json WHEN read THEN "is a directory"; a regular file and a missing one are no
    /// problem for `notRegular`.
    func testDirectoryIsRefusedAndRegularFilesPass() throws {
        XCTAssertEqual(mkdir(root + "/boarding.json", 0o755), 0)
        guard case .failure(let error)? = BoardingSource(directory: root).read() else { return XCTFail() }
        XCTAssertEqual(error.message, "is a directory, not a regular file")
        let regular = root + "/ca.pem"
        let fd = open(regular, O_WRONLY | O_CREAT, 0o644)
        close(fd)
        XCTAssertNil(ConfigurationFile.notRegular(regular))
        XCTAssertNil(ConfigurationFile.notRegular(root + "/missing.pem"))
    }
}
