import Agent
import Dispatch
import JSON
import Platform
import Synchronization

/// `token.sock` in the runtime directory: other programs on the gateway get an access token over
/// HTTP/1.1 on a Unix socket, without ever holding a credential (docs/design.md §8).
enum TokenSocket {
    /// The socket systemd passed (hubagent.socket), else `path` bound here; it serves once
    /// started. Nil (with a warning) when it cannot be created.
    static func open(path: String, settings: Settings, daemon: AgentDaemon, logger: Logger) -> UnixStreamServer? {
        if let inherited = ListeningSocket.inherited(named: Layout.FileName.tokenSocketDescriptor) {
            if let name = settings.tokenSocketGroup {
                // The socket unit set the file's group; a sandboxed service cannot even name it.
                logger.info(
                    "token_socket_group \(name): \(inherited.path) has the group of SocketGroup= in hubagent.socket "
                        + "(`hubagent check` compares the two)")
            }
            return serve(inherited, daemon: daemon, logger: logger)
        }
        var group: UInt32?
        if let name = settings.tokenSocketGroup {
            group = Users.groupID(named: name)
            if group == nil {
                logger.warning("token_socket_group \(name) does not exist; \(path) is for this user only")
            }
        }
        do {
            return serve(try ListeningSocket.bind(path, mode: 0o660, group: group), daemon: daemon, logger: logger)
        } catch {
            logger.warning("token socket \(path): \(error); local programs cannot get tokens from this daemon")
            return nil
        }
    }

    private static func serve(_ listening: ListeningSocket, daemon: AgentDaemon, logger: Logger) -> UnixStreamServer {
        let path = listening.path
        // Generous for real use (a collector asks once a minute) and for bursts of many programs
        // under one user; a runaway loop is held to 1,000 requests a second.
        let limiter = RateLimiter(perSecond: 1000, burst: 10_000)
        let server = UnixStreamServer(
            listening: listening, queue: DispatchQueue(label: "hubagent.token-socket"),
            report: { logger.warning("token socket: \($0)") },
            admit: { limiter.admit($0.uid) },
            handle: { request, peer, respond in
                logger.info("token socket: \(request.method) \(request.path) from \(peer)")
                switch (request.method, request.path) {
                case ("GET", "/token"):
                    daemon.withAccessToken { result in
                        switch result {
                        case .success(let token):
                            let body = JSONValue.object([
                                ("access_token", .string(token.token.exposed)),
                                ("expires_at", .number(token.expiresAt.rounded(.down))),
                            ])
                            respond(LocalHTTPRequest.response(status: 200, reason: "OK", json: body.serialized))
                        case .failure(let unavailable):
                            let body = JSONValue.object([
                                ("error", .string("no access token: " + unavailable.reason))
                            ])
                            respond(
                                LocalHTTPRequest.response(
                                    status: 503, reason: "Service Unavailable", json: body.serialized))
                        }
                    }
                case ("GET", "/status"):
                    daemon.work.async {
                        let report = StatusReport(
                            lifecycle: daemon.lifecycle, now: SystemWallClock().now(), pid: ProcessControl.id)
                        respond(LocalHTTPRequest.response(status: 200, reason: "OK", json: report.json.serialized))
                    }
                case (_, "/token"), (_, "/status"):
                    respond(
                        LocalHTTPRequest.response(
                            status: 405, reason: "Method Not Allowed", json: #"{"error":"only GET"}"#))
                default:
                    respond(
                        LocalHTTPRequest.response(
                            status: 404, reason: "Not Found", json: #"{"error":"GET /token or GET /status"}"#))
                }
            })
        logger.info(
            "serving access tokens to local programs at \(path)\(listening.isInherited ? " (from systemd)" : "")")
        return server
    }
}

/// A token bucket per user id: a misbehaving program cannot make the daemon busy for others.
final class RateLimiter: Sendable {
    private let perSecond: Double
    private let burst: Double
    private let buckets = Mutex<[UInt32: (tokens: Double, at: Double)]>([:])

    init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    func admit(_ uid: UInt32) -> Bool {
        let now = Double(monotonicMicroseconds()) / 1e6
        return buckets.withLock { buckets in
            var bucket = buckets[uid] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * perSecond)
            bucket.at = now
            guard bucket.tokens >= 1 else {
                buckets[uid] = bucket
                return false
            }
            bucket.tokens -= 1
            buckets[uid] = bucket
            return true
        }
    }
}
