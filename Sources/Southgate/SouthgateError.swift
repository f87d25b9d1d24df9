/// What went wrong with a southgate call, sorted by what the agent does about it.
public struct SouthgateError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// No HTTP response: network, DNS, TLS, timeout. Always retried with backoff, never a
        /// reason to re-onboard (docs/design.md §4 rule 1).
        case transport(TransportError)
        /// 400: a bad request, an assertion the server refused (wrong secret or clock), or an
        /// offboarded client at the token endpoint (docs/protocol.md §6.3, §8).
        case badRequest
        /// 401: the IAT or RAT was refused (used, expired, superseded, offboarded; docs/protocol.md §3, §5.2).
        case unauthorized
        /// 403 / 404: the credentials are not allowed here, or the agent is unknown.
        case forbidden
        case notFound
        /// 412: the If-Match eTag no longer matches (docs/protocol.md §7).
        case preconditionFailed
        /// 429: rate limit, or a registration already in progress (docs/protocol.md §4).
        case rateLimited
        /// 5xx.
        case serverError
        /// A status the protocol does not define for this call (e.g. 200 instead of 201).
        case unexpectedStatus
        /// A 2xx whose body lacks required fields or is not JSON.
        case invalidResponse(String)
    }

    public var kind: Kind
    public var operation: String
    public var status: Int?
    /// The server's error code and description (IAM: `error`, `error_description`; management:
    /// `message`). Error bodies carry no credentials, so they may be logged.
    public var serverMessage: String?
    /// Seconds, from `Retry-After`.
    public var retryAfter: Double?
    /// Epoch seconds of the server clock, from `Server-Time` or `Date` (docs/protocol.md §10.3).
    public var serverTime: Double?

    public init(
        kind: Kind, operation: String, status: Int? = nil, serverMessage: String? = nil, retryAfter: Double? = nil,
        serverTime: Double? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.status = status
        self.serverMessage = serverMessage
        self.retryAfter = retryAfter
        self.serverTime = serverTime
    }

    /// Worth trying again later without operator action.
    public var isRetryable: Bool {
        switch kind {
        case .transport: return true  // a TLS verification failure too: retried, but reported loudly
        case .rateLimited, .serverError, .invalidResponse, .unexpectedStatus: return true
        case .badRequest, .unauthorized, .forbidden, .notFound, .preconditionFailed: return false
        }
    }

    public var description: String {
        var text = "\(operation): "
        switch kind {
        case .transport(let error): text += error.description
        case .badRequest: text += "rejected as a bad request (400)"
        case .unauthorized: text += "not authorized (401)"
        case .forbidden: text += "forbidden (403)"
        case .notFound: text += "not found (404)"
        case .preconditionFailed: text += "precondition failed (412)"
        case .rateLimited: text += "rate limited (429)"
        case .serverError: text += "server error (\(status ?? 500))"
        case .unexpectedStatus: text += "unexpected HTTP status \(status ?? 0)"
        case .invalidResponse(let detail): text += "invalid response: \(detail)"
        }
        if let serverMessage { text += ": \(serverMessage)" }
        if let retryAfter { text += " (retry after \(Int(retryAfter)) s)" }
        return text
    }
}
