public import Dispatch
import Glibc

/// The credentials of the process at the other end of a Unix socket (SO_PEERCRED): who asks
/// for a token, as the kernel vouches for it.
public struct PeerCredentials: Equatable, Sendable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32

    public var description: String {
        self == .loopbackTCP ? "a loopback TCP client" : "uid \(uid) gid \(gid) pid \(pid)"
    }

    /// A client of a loopback TCP listener: the kernel vouches for no user; its limits are shared.
    public static let loopbackTCP = PeerCredentials(uid: UInt32.max, gid: UInt32.max, pid: 0)
}

/// A Unix stream socket that reads one HTTP request head per connection, hands it to `handle`,
/// writes the answer and closes. All on one serial queue, driven by Dispatch sources: nothing
/// polls. What a client can hold is bounded (docs/design.md §8):
///
/// - the request head must be complete within `timeout` of the accept (one deadline, not reset
///   by each byte: a trickling client gains nothing), the answer then within `answerTimeout`;
/// - at most `limits.connections` connections at once, at most `limits.connectionsPerUser` of one
///   uid; a connection beyond either is answered 503 and closed at once;
/// - when accept fails for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
///   listener is not watched for `limits.acceptBackoff` seconds or until a connection closes,
///   whichever comes first: a pending connection the server cannot take would otherwise wake it
///   again at once, a busy loop at full CPU.
// Unchecked: the mutable state (acceptSource, accepting, backingOff, connections, perUser,
// lastReport) is touched only on `queue`.
public final class UnixStreamServer: @unchecked Sendable {
    /// The caps; the defaults are the token socket's.
    public struct Limits: Sendable {
        /// Far below any descriptor limit the daemon runs with (4,096 under the unit), so that
        /// the rest of the daemon (state saves, HTTPS to southgate, the journal) always finds one.
        public var connections: Int
        /// Half the global cap: one user (a runaway program, or a hostile one holding idle
        /// connections) never takes every slot; 64 leaves room for a busy collector's bursts
        /// (Tests/System/test_016: 50 concurrent clients of one user, all answered).
        public var connectionsPerUser: Int
        /// How long accept rests after EMFILE and the like, unless a connection closes sooner.
        public var acceptBackoff: Double

        public init(connections: Int = 128, connectionsPerUser: Int = 64, acceptBackoff: Double = 0.25) {
            self.connections = connections
            self.connectionsPerUser = min(connectionsPerUser, connections)
            self.acceptBackoff = acceptBackoff
        }
    }

    public typealias Responder = @Sendable ([UInt8]) -> Void
    public typealias Handler = @Sendable (LocalHTTPRequest, PeerCredentials, @escaping Responder) -> Void

    public let path: String
    private let socket: ListeningSocket
    private let queue: DispatchQueue
    private let listener: Int32
    private var acceptSource: (any DispatchSourceRead)?
    private var accepting = false
    private let handle: Handler
    private let timeout: Double
    private let answerTimeout: Double
    /// The largest request body taken (0: requests without a body only).
    private let maximumBody: Int
    private let admit: @Sendable (PeerCredentials) -> Bool
    private var connections: [Int32: Connection] = [:]
    private let limits: Limits
    private var perUser: [UInt32: Int] = [:]
    /// The accept source is suspended after a resource error (EMFILE …) until this is reset.
    private var backingOff = false
    /// Problems are told through `report` at most once a minute per kind, not per connection.
    private let report: @Sendable (String) -> Void
    private var lastReport: [String: UInt64] = [:]

    /// Removes the socket file at `path`, if any: on the way out, so that clients are told at once
    /// that nothing listens. The corresponding C function is `unlink`.
    public static func removeSocketFile(_ path: String) {
        unlink(path)
    }

    /// Binds `path` (replacing a stale socket file) with `mode` and, when given, `group`
    /// (ListeningSocket.bind). `admit` decides per request (the rate limit); a refused peer gets
    /// 429. `limits` caps the connections; `report` hears about refusals and accept failures
    /// (rarely: once a minute per kind). The umask is process-wide and differs during the bind:
    /// create the server before other threads create files.
    public convenience init(
        path: String, mode: UInt32, group: UInt32?, timeout: Double = 5, answerTimeout: Double = 30,
        maximumBody: Int = 0, limits: Limits = Limits(), queue: DispatchQueue,
        report: @escaping @Sendable (String) -> Void = { _ in },
        admit: @escaping @Sendable (PeerCredentials) -> Bool, handle: @escaping Handler
    ) throws(SystemError) {
        self.init(
            listening: try ListeningSocket.bind(path, mode: mode, group: group), timeout: timeout,
            answerTimeout: answerTimeout, maximumBody: maximumBody, limits: limits, queue: queue, report: report,
            admit: admit, handle: handle)
    }

    /// Serves on `listening`, which is bound and listening already (inherited from systemd, or
    /// bound by ListeningSocket); the server owns its descriptor from now on.
    public init(
        listening: ListeningSocket, timeout: Double = 5, answerTimeout: Double = 30, maximumBody: Int = 0,
        limits: Limits = Limits(), queue: DispatchQueue, report: @escaping @Sendable (String) -> Void = { _ in },
        admit: @escaping @Sendable (PeerCredentials) -> Bool, handle: @escaping Handler
    ) {
        self.socket = listening
        self.path = listening.path
        self.queue = queue
        self.handle = handle
        self.timeout = timeout
        self.answerTimeout = answerTimeout
        self.maximumBody = maximumBody
        self.limits = limits
        self.report = report
        self.admit = admit
        let fd = listening.descriptor
        listener = fd
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [weak self] in self?.acceptAll() }
        source.setCancelHandler { close(fd) }
        acceptSource = source
    }

    /// Removes the socket file, unless systemd made it (ListeningSocket.removeFile).
    public func removeSocketFile() { socket.removeFile() }

    /// Starts taking connections; until then clients wait in the listen backlog.
    public func start() {
        queue.async { [self] in
            guard !accepting else { return }
            accepting = true
            acceptSource?.resume()
        }
    }

    deinit {
        // A suspended source must be resumed before it is released.
        if !accepting || backingOff { acceptSource?.resume() }
        acceptSource?.cancel()  // closes the listener once Dispatch has let go of it
        socket.removeFile()
    }

    /// Touched only on `queue`, which guards its mutable state (unchecked).
    private final class Connection: @unchecked Sendable {
        let fd: Int32
        let peer: PeerCredentials
        var buffer: [UInt8] = []
        /// The whole request's size once its head is in: nothing is parsed again before then.
        var expected: Int?
        var continued = false
        var reader: (any DispatchSourceRead)?
        var timer: (any DispatchSourceTimer)?
        var answered = false

        init(fd: Int32, peer: PeerCredentials) {
            self.fd = fd
            self.peer = peer
        }
    }

    private func acceptAll() {
        while !backingOff {
            let accepted: Int32?
            do {
                accepted = try Syscall.accept(listener, subject: path)
            } catch {
                switch error.errno {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    pauseAccepting(error)
                default:
                    // Not about this listener's future (EPROTO, EPERM from a security module):
                    // this one connection is lost, the next may be taken.
                    tell("accept", "\(path): \(error)")
                }
                return
            }
            guard let fd = accepted else { return }  // all accepted
            // accept4 and struct ucred need _GNU_SOURCE, which the Glibc module does not define:
            // accept, then set the flags; read ucred as its three 32-bit fields (pid, uid, gid).
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
            var length = socklen_t(12)
            let peer: PeerCredentials
            if socket.isTCP {
                peer = .loopbackTCP
            } else {
                guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, length == 12 else {
                    close(fd)
                    continue
                }
                peer = PeerCredentials(uid: credentials.1, gid: credentials.2, pid: credentials.0)
            }
            let ofUser = perUser[peer.uid, default: 0]
            if connections.count >= limits.connections || ofUser >= limits.connectionsPerUser {
                refuse(fd, peer, userCapped: ofUser >= limits.connectionsPerUser)
                continue
            }
            perUser[peer.uid] = ofUser + 1
            let connection = Connection(fd: fd, peer: peer)
            connections[fd] = connection
            let reader = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            reader.setEventHandler { [weak self] in self?.read(connection) }
            // The descriptor is closed only once Dispatch has stopped watching it: closed any
            // earlier, its number can come back from accept() while the old registration still
            // stands, and the new connection's reads are never reported (the client then sees
            // a timeout and a reset instead of its answer).
            reader.setCancelHandler { close(fd) }
            connection.reader = reader
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + timeout)
            timer.setEventHandler { [weak self] in
                self?.finish(
                    connection,
                    LocalHTTPRequest.response(
                        status: 408, reason: "Request Timeout", json: #"{"error":"request not received in time"}"#))
            }
            connection.timer = timer
            reader.resume()
            timer.resume()
        }
    }

    /// Over a cap: 503 at once and closed, without reading the request (the answer is small and
    /// the socket's buffer empty, so the write does not block). Whatever the client already sent
    /// is read first, so that the close does not turn into a reset before it reads the answer.
    private func refuse(_ fd: Int32, _ peer: PeerCredentials, userCapped: Bool) {
        let reason =
            userCapped
            ? "too many connections from uid \(peer.uid) (at most \(limits.connectionsPerUser))"
            : "too many connections (at most \(limits.connections))"
        let response = LocalHTTPRequest.response(
            status: 503, reason: "Service Unavailable", json: "{\"error\":\"\(reason); retry in a second\"}")
        var discard = [UInt8](repeating: 0, count: 4096)
        _ = discard.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        _ = response.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        close(fd)
        tell(userCapped ? "user \(peer.uid)" : "global", "\(path): refusing connections: \(reason); last from \(peer)")
    }

    /// Stops watching the listener after a resource error; `resumeAccepting` starts again after
    /// the backoff or as soon as a connection closes and gives a descriptor back.
    private func pauseAccepting(_ error: SystemError) {
        guard accepting, !backingOff else { return }
        backingOff = true
        acceptSource?.suspend()
        tell(
            "accept",
            "\(path): \(error); not accepting for \(limits.acceptBackoff) s or until a connection closes "
                + "(\(connections.count) open)")
        queue.asyncAfter(deadline: .now() + limits.acceptBackoff) { [weak self] in self?.resumeAccepting() }
    }

    private func resumeAccepting() {
        guard backingOff else { return }
        backingOff = false
        acceptSource?.resume()
    }

    /// `report`, at most once a minute for each `kind`.
    private func tell(_ kind: String, _ message: String) {
        let now = monotonicMicroseconds()
        if let last = lastReport[kind], now - last < 60_000_000 { return }
        lastReport[kind] = now
        report(message)
    }

    private func read(_ connection: Connection) {
        // Large reads for bodies (up to a MiB of values), small ones for heads.
        var chunk = [UInt8](repeating: 0, count: maximumBody > 0 ? 65_536 : 4096)
        // errno is read right after the call, inside the closure, before anything can change it.
        let (count, error) = chunk.withUnsafeMutableBytes { buffer -> (Int, Int32) in
            let count = Glibc.read(connection.fd, buffer.baseAddress, buffer.count)
            return (count, count < 0 ? errno : 0)
        }
        if count == 0 || (count < 0 && error != EAGAIN && error != EINTR) {
            finish(connection, nil)  // the client went away
            return
        }
        guard count > 0, !connection.answered else { return }
        connection.buffer += chunk[0..<count]
        if let expected = connection.expected, connection.buffer.count < expected { return }
        switch LocalHTTPRequest.parse(connection.buffer, maximumBody: maximumBody) {
        case .incomplete:
            return
        case .awaitingBody(let total, let expectsContinue):
            connection.expected = total
            if expectsContinue && !connection.continued {
                connection.continued = true
                let interim = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                _ = interim.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            return
        case .refused(let status, let reason):
            finish(
                connection,
                LocalHTTPRequest.response(
                    status: status, reason: status == 413 ? "Content Too Large" : "Length Required",
                    json: "{\"error\":\"\(reason)\"}"))
        case .malformed(let reason):
            finish(
                connection,
                LocalHTTPRequest.response(status: 400, reason: "Bad Request", json: "{\"error\":\"\(reason)\"}"))
        case .request(let request):
            // Judged once the request is in, so the client reads a 429 instead of a reset.
            guard admit(connection.peer) else {
                finish(
                    connection,
                    LocalHTTPRequest.response(
                        status: 429, reason: "Too Many Requests",
                        json: #"{"error":"rate limit exceeded for this user; retry in a second"}"#))
                return
            }
            connection.answered = true
            connection.reader?.suspend()
            // From here the deadline is the answer's (a token fetch may be under way).
            connection.timer?.schedule(deadline: .now() + answerTimeout)
            connection.timer?.setEventHandler { [weak self] in
                self?.finish(
                    connection,
                    LocalHTTPRequest.response(
                        status: 503, reason: "Service Unavailable",
                        json: #"{"error":"no access token within the time limit; see hubagent status"}"#))
            }
            handle(request, connection.peer) { [weak self] response in
                guard let self else { return }
                queue.async { self.finish(connection, response) }
            }
        }
    }

    /// Writes the answer (small: it fits the socket buffer) and closes, once.
    private func finish(_ connection: Connection, _ response: [UInt8]?) {
        // By identity, not by number: once this connection was finished (a timeout answered
        // it), its descriptor number may already belong to a newer client, whom a late answer
        // must not reach.
        guard connections[connection.fd] === connection else { return }
        connections[connection.fd] = nil
        let uid = connection.peer.uid
        perUser[uid] = perUser[uid, default: 1] > 1 ? perUser[uid, default: 1] - 1 : nil
        if let response {
            response.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = send(
                        connection.fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
        connection.timer?.cancel()
        if let reader = connection.reader {
            if connection.answered { reader.resume() }  // a suspended source must be resumed before it is released
            reader.cancel()  // its cancel handler closes the descriptor
        } else {
            close(connection.fd)
        }
        // A descriptor is on its way back (the cancel handler closes it): worth trying again.
        if backingOff { queue.async { [weak self] in self?.resumeAccepting() } }
    }

    /// Open connections, in total and of `uid`: for tests.
    func openConnections(of uid: UInt32? = nil) -> Int {
        queue.sync { uid.map { perUser[$0, default: 0] } ?? connections.count }
    }
}
