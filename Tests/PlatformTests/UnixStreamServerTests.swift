import Dispatch
import Glibc
import Synchronization
import XCTest

@testable import Platform

/// The token socket's server against real Unix sockets in a temporary directory.
final class UnixStreamServerTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        var template = Array("/tmp/hubagent-uss-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    override func tearDown() {
        unlink(directory + "/s.sock")
        rmdir(directory)
    }

    /// A client: connects, sends `request`, reads until the server closes (or `timeout`).
    private static func ask(_ path: String, _ request: String = "GET /token HTTP/1.1\r\n\r\n", timeout: Int = 5)
        -> String
    {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return "connect failed: errno \(errno)" }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// GIVEN a request whose answer comes after the answer timeout, and a second client that
    /// may get the first one's descriptor number WHEN the late answer arrives THEN it reaches
    /// nobody: the second client gets its own answer, and the server keeps serving.
    func testLateAnswerAfterTimeoutDoesNotReachTheNextClient() throws {
        let responders = Mutex<[@Sendable ([UInt8]) -> Void]>([])
        let arrived = DispatchSemaphore(value: 0)
        let server = try UnixStreamServer(
            path: directory + "/s.sock", mode: 0o600, group: nil, timeout: 5, answerTimeout: 1,
            queue: DispatchQueue(label: "test.server"), admit: { _ in true },
            handle: { _, _, respond in
                responders.withLock { $0.append(respond) }
                arrived.signal()
            })
        server.start()
        let path = server.path
        let first = Self.ask(path)
        XCTAssertTrue(first.hasPrefix("HTTP/1.1 503"), first)

        let second = DispatchQueue(label: "test.client")
        let secondAnswer = Mutex("")
        let secondDone = DispatchSemaphore(value: 0)
        second.async {
            let answer = UnixStreamServerTests.ask(path)
            secondAnswer.withLock { $0 = answer }
            secondDone.signal()
        }
        XCTAssertEqual(arrived.wait(timeout: .now() + 5), .success)  // the first request
        XCTAssertEqual(arrived.wait(timeout: .now() + 5), .success)  // the second request
        let (late, own) = responders.withLock { ($0[0], $0[1]) }
        late(LocalHTTPRequest.response(status: 200, reason: "OK", json: #"{"for":"first"}"#))
        own(LocalHTTPRequest.response(status: 200, reason: "OK", json: #"{"for":"second"}"#))
        XCTAssertEqual(secondDone.wait(timeout: .now() + 5), .success)
        let answer = secondAnswer.withLock { $0 }
        XCTAssertTrue(answer.hasSuffix(#"{"for":"second"}"#), answer)

        // Still serving (an over-resumed source would have trapped by now).
        let third = DispatchQueue(label: "test.third")
        third.async {
            arrived.wait()
            responders.withLock { $0[2] }(LocalHTTPRequest.response(status: 200, reason: "OK", json: "{}"))
        }
        XCTAssertTrue(Self.ask(path).hasPrefix("HTTP/1.1 200"))
    }
}
