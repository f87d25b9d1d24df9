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

    /// A client that connects and sends `request`, then stays: its descriptor.
    private static func connectIdle(_ path: String, _ request: String = "") -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
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
        XCTAssertEqual(connected, 0)
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// Waits (at most 5 s) until `condition` holds.
    private static func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    private func answeringServer(
        limits: UnixStreamServer.Limits, report: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> UnixStreamServer {
        let server = try UnixStreamServer(
            path: directory + "/s.sock", mode: 0o600, group: nil, timeout: 30, limits: limits,
            queue: DispatchQueue(label: "test.server"), report: report,
            admit: { _ in true },
            handle: { _, _, respond in respond(LocalHTTPRequest.response(status: 200, reason: "OK", json: "{}")) })
        server.start()
        return server
    }

    /// GIVEN a cap of 4 connections per user and 4 idle connections of this uid WHEN a fifth connects THEN it is
    /// answered 503 at once, naming the cap, and reported once; once an idle one closes, the next is served.
    func testConnectionsBeyondThePerUserCapAreRefused() throws {
        let reports = Reports()
        let server = try answeringServer(
            limits: UnixStreamServer.Limits(connections: 8, connectionsPerUser: 4), report: reports.add)
        let idle = (0..<4).map { _ in Self.connectIdle(server.path) }
        XCTAssertTrue(Self.eventually { server.openConnections(of: getuid()) == 4 })
        let refused = Self.ask(server.path, timeout: 2)
        XCTAssertTrue(refused.hasPrefix("HTTP/1.1 503"), refused)
        XCTAssertTrue(refused.contains("too many connections from uid \(getuid()) (at most 4)"), refused)
        XCTAssertTrue(Self.ask(server.path, timeout: 2).hasPrefix("HTTP/1.1 503"))
        XCTAssertEqual(reports.all.count, 1)  // once a minute, not per connection
        XCTAssertEqual(server.openConnections(), 4)
        close(idle[0])
        XCTAssertTrue(Self.eventually { server.openConnections() == 3 })
        XCTAssertTrue(Self.ask(server.path).hasPrefix("HTTP/1.1 200"))
        for fd in idle.dropFirst() { close(fd) }
        XCTAssertTrue(Self.eventually { server.openConnections() == 0 })
        XCTAssertEqual(server.openConnections(of: getuid()), 0)
    }

    /// GIVEN accept failing with EMFILE (injected at the Syscall choke point) and a client waiting WHEN 0.6 s pass
    /// THEN accept was tried a handful of times (the backoff), not thousands (a busy loop); once descriptors are
    /// back, the waiting client is served.
    func testAcceptBacksOffOnEMFILE() throws {
        let path = directory + "/s.sock"
        let failing = Mutex(true)
        let attempts = Mutex(0)
        Syscall.setPathFaultInjector { name, subject in
            guard name == .accept, subject == path else { return nil }
            attempts.withLock { $0 += 1 }
            return failing.withLock { $0 } ? EMFILE : nil
        }
        defer { Syscall.setPathFaultInjector(nil) }
        let reports = Reports()
        let server = try answeringServer(limits: UnixStreamServer.Limits(acceptBackoff: 0.2), report: reports.add)
        let client = Self.connectIdle(server.path, "GET /token HTTP/1.1\r\n\r\n")
        defer { close(client) }
        usleep(600_000)
        let tried = attempts.withLock { $0 }
        XCTAssertGreaterThanOrEqual(tried, 2)
        XCTAssertLessThanOrEqual(tried, 8, "accept retried \(tried) times in 0.6 s")
        XCTAssertEqual(reports.all.count, 1)
        XCTAssertTrue(reports.all.first?.contains("Too many open files") == true, "\(reports.all)")
        failing.withLock { $0 = false }
        var limit = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
        XCTAssertGreaterThan(count, 0)
        XCTAssertTrue(String(decoding: chunk.prefix(max(count, 0)), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
    }
}

/// What a server reported, collected across its queue.
private final class Reports: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func add(_ line: String) { lines.withLock { $0.append(line) } }
}
