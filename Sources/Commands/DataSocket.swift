import Agent
import Crypto
import Dispatch
import JSON
import Platform
import Relay

/// `data.sock`: local programs hand values to the relay over HTTP/1.1 on a Unix socket
/// (docs/relay.md §1), with a group of its own (`data_socket_group`), separate from the token
/// socket's: a producer never gets tokens.
enum DataSocket {
    /// The socket systemd passed (hubagent-data.socket), else `path` bound here when the relay is
    /// on; it serves once started. With the relay off, a socket systemd passed answers 503 (its
    /// clients would otherwise wait on a socket nobody reads). Nil when there is nothing to serve.
    static func open(path: String, settings: RelaySettings, relay: RelaySlot?, logger: Logger) -> UnixStreamServer? {
        let listening: ListeningSocket
        if let inherited = ListeningSocket.inherited(named: Layout.FileName.dataSocketDescriptor) {
            if let name = settings.dataSocketGroup {
                logger.info(
                    "data_socket_group \(name): \(inherited.path) has the group of SocketGroup= in "
                        + "hubagent-data.socket (`hubagent check` compares the two)")
            }
            listening = inherited
        } else {
            guard relay != nil else { return nil }
            var group: UInt32?
            if let name = settings.dataSocketGroup {
                group = Users.groupID(named: name)
                if group == nil {
                    logger.warning("data_socket_group \(name) does not exist; \(path) is for this user only")
                }
            }
            do {
                listening = try ListeningSocket.bind(path, mode: 0o660, group: group)
            } catch {
                logger.error("data socket \(path): \(error); local programs cannot send values to this daemon")
                return nil
            }
        }
        let server = serve(listening, settings: settings, relay: relay, key: nil, logger: logger)
        if relay != nil {
            logger.info("taking values from local programs at \(listening.path)")
        }
        return server
    }

    /// The loopback HTTP listener (`ingest_listen`) for programs that cannot reach a Unix socket:
    /// every request must carry `Authorization: Bearer <the ingest key>` (docs/relay.md §1). Nil
    /// (logged) without a key or when the address cannot be bound: it never opens without a key.
    static func openLoopback(
        settings: RelaySettings, relay: RelaySlot, configurationDirectory: String, credentialsDirectory: String?,
        logger: Logger
    ) -> UnixStreamServer? {
        guard let address = settings.ingestListen else { return nil }
        let keyPath = settings.ingestKeyFile ?? configurationDirectory + "/" + IngestKey.credential
        let key: [UInt8]
        switch IngestKey.read(path: keyPath, credentialsDirectory: credentialsDirectory) {
        case .success(let read): key = read
        case .failure(let error):
            logger.error("ingest_listen: \(error); the loopback listener stays closed")
            return nil
        }
        do {
            let listening = try LoopbackListener.listening(host: address.host, port: address.port)
            logger.info("taking values from local programs at http://\(listening.path) (bearer key from \(keyPath))")
            return serve(listening, settings: settings, relay: relay, key: key, logger: logger)
        } catch {
            logger.error("ingest_listen: \(error); the loopback listener stays closed")
            return nil
        }
    }

    private static func serve(
        _ listening: ListeningSocket, settings: RelaySettings, relay slot: RelaySlot?, key: [UInt8]?, logger: Logger
    ) -> UnixStreamServer {
        // A collector sending one value per request can reach thousands a second; a runaway
        // loop is held to 20,000 (docs/relay.md §1: 429 per uid).
        let limiter = RateLimiter(perSecond: 20_000, burst: 40_000)
        return UnixStreamServer(
            listening: listening, maximumBody: settings.ingestMaxRequest,
            // Each connection may hold a whole request body (ingest_max_request) while it is read
            // and parsed: 32 of them bound that memory; 16 per user leave room for others.
            limits: .init(connections: 32, connectionsPerUser: 16),
            queue: DispatchQueue(label: "hubagent.data-socket"),
            report: { logger.warning("data socket: \($0)") },
            admit: { limiter.admit($0.uid) },
            handle: { request, peer, respond in
                logger.debug("data socket: \(request.method) \(request.path) from \(peer)")
                if let key {
                    let given = request.headers["authorization"].map { Array($0.utf8) } ?? []
                    guard ConstantTime.equals(given, Array("Bearer ".utf8) + key) else {
                        return respond(
                            LocalHTTPRequest.response(
                                status: 401, reason: "Unauthorized",
                                json: #"{"error":"send Authorization: Bearer <the key in ingest_key_file>"}"#,
                                headers: [("WWW-Authenticate", "Bearer")]))
                    }
                }
                guard let relay = slot?.relay else {
                    let reason =
                        slot == nil
                        ? "the relay is off; set relay = on in hubagent.conf and restart hubagent"
                        : (slot?.problem ?? "the relay is starting") + "; retry later"
                    return respond(
                        LocalHTTPRequest.response(
                            status: 503, reason: "Service Unavailable",
                            json: JSONValue.object([("error", .string(reason))]).serialized,
                            headers: [("Retry-After", slot == nil ? "60" : "10")]))
                }
                relay.serve(request, respond: respond)
            })
    }
}
