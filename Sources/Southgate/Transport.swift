/// One HTTP exchange, as the southgate client needs it. The seam between the API code and libcurl:
/// unit tests replace the transport with a recording fake.
public struct HTTPRequest: Sendable, Equatable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
    }

    public var method: Method
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// This request's total deadline in seconds, when it needs more than the transport's own
    /// (a large body on a slow uplink).
    public var timeout: Double?

    public init(
        method: Method, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        timeout: Double? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// Header names are lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Performs one request synchronously, within its deadline. Errors are `TransportError`.
public protocol Transport: Sendable {
    func perform(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse
}

/// Why no HTTP response arrived. Every case is retryable except a TLS verification failure,
/// which needs the operator (a wrong `ca_file`, an intercepting proxy).
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    case timedOut(detail: String)
    case couldNotResolve(detail: String)
    case couldNotConnect(detail: String)
    case tlsVerificationFailed(detail: String)
    case connectionLost(detail: String)
    case other(detail: String)

    public var description: String {
        switch self {
        case .timedOut(let detail): "timed out (\(detail))"
        case .couldNotResolve(let detail): "name resolution failed (\(detail))"
        case .couldNotConnect(let detail): "could not connect (\(detail))"
        case .tlsVerificationFailed(let detail):
            "TLS certificate verification failed (\(detail)); check ca_file, or a TLS-inspecting proxy"
        case .connectionLost(let detail): "connection lost (\(detail))"
        case .other(let detail): detail
        }
    }
}
