import Glibc
import XCTest

@testable import Agent
@testable import Platform

/// A state file with a second name is a copy of the credentials that outlives every rotation: refused at load.
final class StateStoreHardLinkTests: XCTestCase {
    private var root = ""

    override func setUp() {
        var template = Array("/tmp/hubagent-hardlink-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    override func tearDown() { TemporaryTree.remove(root) }

    /// GIVEN a saved generation with a hard link elsewhere WHEN loaded THEN .insecure naming the file and the
    /// command that finds the other name; once the link is gone THEN it loads.
    func testAHardLinkedStateFileIsRefused() throws {
        let store = StateStore(directory: try StateDirectory(path: root + "/state"))
        let saved = try store.save(Fixture.stored(Fixture.identity(tag: "a"), generation: 0, used: ["a"]))
        let file = root + "/state/" + Layout.FileName.state(generation: saved.generation)
        XCTAssertEqual(link(file, root + "/copy.json"), 0)
        XCTAssertThrowsError(try store.load()) { error in
            guard case .insecure(let problem) = error as? StorageError else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.path, file)
            XCTAssertTrue(problem.problem.hasPrefix("has 2 names (hard links)"), problem.problem)
            XCTAssertTrue(problem.fix.contains("find / -xdev -samefile \(file)"), problem.fix)
        }
        unlink(root + "/copy.json")
        XCTAssertEqual(try store.load().state.identity?.clientID, saved.identity?.clientID)
    }
}
