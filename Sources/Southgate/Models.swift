import Crypto
import JSON

/// The registration the server returns from `POST /register` (201) and `PUT /register/{id}`
/// (200): docs/protocol.md §4, §5.
public struct ClientIdentifier: Equatable, Sendable {
    public var clientID: String
    /// SHARED_SECRET only. The HMAC key is the UTF-8 bytes of this string (docs/protocol.md §4).
    public var clientSecret: String?
    /// Epoch seconds, server clock. Present for both profiles (docs/protocol.md §4).
    public var clientSecretExpiresAt: Int64?
    public var registrationAccessToken: String
    /// Absolute; used verbatim for rotation (docs/protocol.md §4).
    public var registrationClientURI: String

    public init(
        clientID: String, clientSecret: String?, clientSecretExpiresAt: Int64?, registrationAccessToken: String,
        registrationClientURI: String
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientSecretExpiresAt = clientSecretExpiresAt
        self.registrationAccessToken = registrationAccessToken
        self.registrationClientURI = registrationClientURI
    }

    init(json: JSONValue, requireSecret: Bool) throws(SouthgateResponseError) {
        guard case .object = json else { throw .init("body is not a JSON object") }
        func string(_ key: String, atMost limit: Int) throws(SouthgateResponseError) -> String {
            guard let value = json[key]?.stringValue, !value.isEmpty else { throw .init("field \(key) is missing") }
            return try ResponseBounds.check(value, key, atMost: limit)
        }
        clientID = try string("client_id", atMost: ResponseBounds.identifier)
        // The client id goes into URLs and log lines: the boarding file's rule (docs/protocol.md §1).
        guard clientID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw .init("client_id has characters other than letters, digits, - and _")
        }
        registrationAccessToken = try string("registration_access_token", atMost: ResponseBounds.token)
        registrationClientURI = try string("registration_client_uri", atMost: ResponseBounds.url)
        clientSecret = try json["client_secret"]?.stringValue.map { (value) throws(SouthgateResponseError) in
            try ResponseBounds.check(value, "client_secret", atMost: ResponseBounds.secret)
        }
        if requireSecret && (clientSecret ?? "").isEmpty { throw .init("field client_secret is missing") }
        switch json["client_secret_expires_at"] {
        case nil, .null?:
            clientSecretExpiresAt = nil
        case let value?:
            guard let seconds = value.int64Value, seconds >= 0 else {
                throw .init("client_secret_expires_at is not a time in epoch seconds")
            }
            // 0 means "does not expire" (RFC 7591 §3.2.1).
            clientSecretExpiresAt = seconds == 0 ? nil : seconds
        }
        guard registrationClientURI.hasPrefix("https://") else {
            throw .init(
                "registration_client_uri is not an https "
                    + "URL")
        }
        guard !registrationClientURI.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) else {
            throw .init("registration_client_uri has spaces, control or non-ASCII characters")
        }
    }
}

/// The largest values hubagent accepts from southgate. Real values are far smaller (a secret is
/// 44 characters, a RAT or an access token 1-2 KiB); anything beyond these is not a credential
/// but a broken or hostile server, and would make the stored state too large to read back.
enum ResponseBounds {
    /// `client_id`, as in a boarding file (docs/protocol.md §1).
    static let identifier = 36
    static let secret = 1024
    /// A RAT or an access token: a JWS, bounded like every JWS hubagent reads.
    static let token = JWS.maximumTokenLength
    static let url = 2048
    static let eTag = 64

    static func check(_ value: String, _ key: String, atMost limit: Int) throws(SouthgateResponseError) -> String {
        guard value.utf8.count <= limit else {
            throw .init("field \(key) is \(value.utf8.count) bytes long, more than the \(limit) accepted")
        }
        return value
    }
}

/// `POST /oauth/token` answer (docs/protocol.md §6.3).
public struct AccessTokenGrant: Equatable, Sendable {
    public var accessToken: String
    /// Seconds; 3600 on the real service.
    public var expiresIn: Int64

    init(json: JSONValue) throws(SouthgateResponseError) {
        guard let token = json["access_token"]?.stringValue, !token.isEmpty else {
            throw .init("field access_token is missing")
        }
        accessToken = token
        guard let expiresIn = json["expires_in"]?.int64Value, expiresIn > 0 else {
            throw .init("field expires_in is missing or not a positive integer")
        }
        self.expiresIn = expiresIn
    }

    public init(accessToken: String, expiresIn: Int64) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
    }
}

extension JWK {
    /// `{"keys":[{e,n,kty,kid}]}`, members in MCL's order (docs/protocol.md §4).
    var jwksJSON: JSONValue {
        .object([
            (
                "keys",
                .array([.object([("e", .string(e)), ("n", .string(n)), ("kty", .string(kty)), ("kid", .string(kid))])])
            )
        ])
    }
}

/// A successful call's value plus what the agent learns from every response: the server clock.
public struct Exchange<Value: Sendable>: Sendable {
    public var value: Value
    public var serverTime: Double?
}

struct SouthgateResponseError: Error {
    let detail: String
    init(_ detail: String) { self.detail = detail }
}
