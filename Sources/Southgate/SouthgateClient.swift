public import Crypto
import JSON
import Platform

/// The Agent Management API calls an agent makes (docs/protocol.md §4–§7), over a `Transport`.
/// Stateless: credentials come in as arguments, results go out as values.
public struct SouthgateClient: Sendable {
    /// docs/protocol.md §1.
    static let agentManagementPath = "/api/agentmanagement/v3"

    public let baseURL: String
    let transport: any Transport

    /// `baseURL` as in the boarding file, without a trailing slash (docs/protocol.md §13: a trailing
    /// slash would put `//api` on the wire).
    public init(baseURL: String, transport: any Transport) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.transport = transport
    }

    /// `POST /register` with the initial access token; exactly 201 is success (docs/protocol.md §4).
    public func register(initialAccessToken: String, publicKey: JWK?) throws(SouthgateError) -> Exchange<
        ClientIdentifier
    > {
        let body: JSONValue = publicKey.map { .object([("jwks", $0.jwksJSON)]) } ?? .object([])
        let request = HTTPRequest(
            method: .post,
            url: baseURL + Self.agentManagementPath + "/register",
            headers: jsonHeaders(bearer: initialAccessToken),
            body: Array(body.serialized.utf8))
        return try call("register", request, expect: 201) { json throws(SouthgateResponseError) in
            try ClientIdentifier(json: json, requireSecret: publicKey == nil)
        }
    }

    /// `PUT <registration_client_uri>` with the registration access token; exactly 200 is
    /// success (docs/protocol.md §5). The body names the client, plus the new key for RSA_3072.
    public func rotate(
        registrationClientURI: String, registrationAccessToken: String, clientID: String, publicKey: JWK?
    ) throws(SouthgateError) -> Exchange<ClientIdentifier> {
        var members: [(String, JSONValue)] = [("client_id", .string(clientID))]
        if let publicKey { members.append(("jwks", publicKey.jwksJSON)) }
        let request = HTTPRequest(
            method: .put,
            url: registrationClientURI,
            headers: jsonHeaders(bearer: registrationAccessToken),
            body: Array(JSONValue.object(members).serialized.utf8))
        return try call("rotate", request, expect: 200) { json throws(SouthgateResponseError) in
            try ClientIdentifier(json: json, requireSecret: publicKey == nil)
        }
    }

    /// `POST /oauth/token` with a client assertion: exactly the three form fields of
    /// docs/protocol.md §6.1, percent-encoded (the server uses a normal form decoder).
    public func token(clientAssertion: String) throws(SouthgateError) -> Exchange<AccessTokenGrant> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", clientAssertion),
        ].map { "\($0)=\(FormEncoding.escape($1))" }.joined(separator: "&")
        let request = HTTPRequest(
            method: .post,
            url: baseURL + Self.agentManagementPath + "/oauth/token",
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
                ("Correlation-ID", Self.correlationID()),
            ],
            body: Array(form.utf8))
        return try call("token", request, expect: 200) { json throws(SouthgateResponseError) in
            try AccessTokenGrant(json: json)
        }
    }

    private func jsonHeaders(bearer: String) -> [(name: String, value: String)] {
        [
            ("Authorization", "Bearer " + bearer),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
            ("Correlation-ID", Self.correlationID()),
        ]
    }

    /// Sends, then maps the status to a value or a named error. The response body of a success
    /// holds credentials and is never put into an error or a log line.
    func call<Value>(
        _ operation: String, _ request: HTTPRequest, expect: Int,
        decode: (JSONValue) throws(SouthgateResponseError) -> Value
    ) throws(SouthgateError) -> Exchange<Value> {
        let response: HTTPResponse
        do {
            response = try transport.perform(request)
        } catch {
            throw SouthgateError(kind: .transport(error), operation: operation)
        }
        let serverTime = HTTPDate.serverTime(response.headers)
        guard response.status == expect else {
            throw SouthgateError(
                kind: Self.kind(for: response.status),
                operation: operation,
                status: response.status,
                serverMessage: (200..<300).contains(response.status) ? nil : Self.serverMessage(response.body),
                retryAfter: response.headers["retry-after"].flatMap(HTTPDate.retryAfter),
                serverTime: serverTime)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(response.body)
        } catch {
            throw SouthgateError(
                kind: .invalidResponse("body is not JSON (\(error.line):\(error.column))"), operation: operation,
                status: response.status, serverTime: serverTime)
        }
        do {
            return Exchange(value: try decode(json), serverTime: serverTime)
        } catch {
            throw SouthgateError(
                kind: .invalidResponse(error.detail), operation: operation, status: response.status,
                serverTime: serverTime)
        }
    }

    /// A correlation id needs uniqueness, not secrecy: fall back to the system generator if
    /// OpenSSL's fails.
    static func correlationID() -> String {
        if let id = try? CorrelationID.random() { return id }
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func kind(for status: Int) -> SouthgateError.Kind {
        switch status {
        case 400: .badRequest
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 412: .preconditionFailed
        case 429: .rateLimited
        case 500...599: .serverError
        default: .unexpectedStatus
        }
    }

    /// The error text of either body family (docs/protocol.md §1), shortened.
    static func serverMessage(_ body: [UInt8]) -> String? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        let parts = [json["error"]?.stringValue, json["error_description"]?.stringValue, json["message"]?.stringValue]
            .compactMap { $0 }
        guard !parts.isEmpty else { return nil }
        // Server text reaches logs, status.json and terminals: no control character may forge a
        // line or move a cursor, and no answer may make a log line long.
        return DisplayText.sanitized(parts.joined(separator: ": "), limit: 300)
    }
}

/// application/x-www-form-urlencoded escaping (WHATWG URL, "application/x-www-form-urlencoded serializer").
enum FormEncoding {
    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
