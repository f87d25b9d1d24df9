import Agent
import Dispatch
import Platform
import Relay

/// `data.sock` in the runtime directory: local programs hand values to the relay over HTTP/1.1
/// on a Unix socket (docs/relay.md §1), group `data_socket_group`, separate from the token
/// socket's: a producer never gets tokens.
enum DataSocket {
    /// Creates the socket; it serves once started. Nil (with a warning) when it cannot be created.
    static func open(path: String, settings: RelaySettings, relay: RelayDaemon, logger: Logger) -> UnixStreamServer? {
        var group: UInt32?
        if let name = settings.dataSocketGroup {
            if let gid = Users.groupID(named: name) {
                group = gid
            } else {
                logger.warning("data_socket_group \(name) does not exist; \(path) is for this user only")
            }
        }
        // A collector sending one value per request can reach thousands a second; a runaway
        // loop is held to 20,000 (docs/relay.md §1: 429 per uid).
        let limiter = RateLimiter(perSecond: 20_000, burst: 40_000)
        do {
            let server = try UnixStreamServer(
                path: path, mode: 0o660, group: group, maximumBody: settings.ingestMaxRequest,
                // Each connection may hold a whole request body (ingest_max_request) while it is
                // read and parsed: 32 of them bound that memory; 16 per user leave room for others.
                limits: .init(connections: 32, connectionsPerUser: 16),
                queue: DispatchQueue(label: "hubagent.data-socket"),
                report: { logger.warning("data socket: \($0)") },
                admit: { limiter.admit($0.uid) },
                handle: { request, peer, respond in
                    logger.debug("data socket: \(request.method) \(request.path) from \(peer)")
                    relay.serve(request, respond: respond)
                })
            logger.info("taking values from local programs at \(path)")
            return server
        } catch {
            logger.error("data socket \(path): \(error); local programs cannot send values to this daemon")
            return nil
        }
    }
}
