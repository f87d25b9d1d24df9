import JSON

/// Reading the claims of a JSON Web Token (RFC 7519) without verifying it.
///
/// The IAT, the registration access token and the access token are opaque server tokens to us:
/// we cannot verify them, and only read claims such as `exp` to schedule renewals
/// (docs/protocol.md §3, §6.4). Nothing read here may be trusted for a security decision.
public enum JWT {
    /// The registered and MindSphere claims we look at; every field is optional.
    public struct Claims: Equatable, Sendable {
        public var iss: String?
        public var sub: String?
        /// A string or an array in the wire format (docs/protocol.md §6.2); always an array here.
        public var aud: [String]?
        /// NumericDate values (RFC 7519 §2) in epoch seconds; a fractional value is rounded down.
        public var iat: Int64?
        public var nbf: Int64?
        public var exp: Int64?
        public var jti: String?
        /// The tenant (docs/protocol.md §6.4).
        public var ten: String?
        public var schemas: [String]?
        /// A string or an array in the wire format; always an array here.
        public var scope: [String]?

        public init(
            iss: String? = nil, sub: String? = nil, aud: [String]? = nil, iat: Int64? = nil,
            nbf: Int64? = nil, exp: Int64? = nil, jti: String? = nil, ten: String? = nil,
            schemas: [String]? = nil, scope: [String]? = nil
        ) {
            self.iss = iss
            self.sub = sub
            self.aud = aud
            self.iat = iat
            self.nbf = nbf
            self.exp = exp
            self.jti = jti
            self.ten = ten
            self.schemas = schemas
            self.scope = scope
        }

        /// Reads the claims of a payload object; a claim of the wrong type is an error.
        init(json: JSONValue) throws(CryptoError) {
            guard case .object = json else { throw .malformedToken("the payload is not a JSON object") }
            func string(_ key: String) throws(CryptoError) -> String? {
                guard let value = json[key], value != .null else { return nil }
                guard let text = value.stringValue else { throw .malformedToken("claim \(key) is not a string") }
                return text
            }
            /// A string or an array in the wire format (docs/protocol.md §6.2).
            func strings(_ key: String) throws(CryptoError) -> [String]? {
                guard let value = json[key], value != .null else { return nil }
                if let text = value.stringValue { return [text] }
                guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                    throw .malformedToken("claim \(key) is neither a string nor an array of strings")
                }
                return items.compactMap(\.stringValue)
            }
            /// Integers as written by most issuers, doubles as MCL computes them (docs/protocol.md §6.2).
            func numericDate(_ key: String) throws(CryptoError) -> Int64? {
                guard let value = json[key], value != .null else { return nil }
                guard let number = value.numberValue, number.isFinite,
                    let seconds = Int64(exactly: number.rounded(.down))
                else {
                    throw .malformedToken("claim \(key) is not a representable NumericDate")
                }
                return seconds
            }
            self.init(
                iss: try string("iss"), sub: try string("sub"), aud: try strings("aud"), iat: try numericDate("iat"),
                nbf: try numericDate("nbf"), exp: try numericDate("exp"), jti: try string("jti"),
                ten: try string("ten"),
                schemas: try strings("schemas").map { $0 }, scope: try strings("scope"))
        }
    }

    /// The payload claims of `token`, which is parsed (see `JWS.parse`) but not verified.
    public static func unverifiedClaims(of token: String) throws(CryptoError) -> Claims {
        let parsed = try JWS.parse(token)
        guard let json = try? JSONValue.parse(parsed.payloadJSON) else {
            // The parser's message can quote the payload; name only what was wrong.
            throw .malformedToken("the payload is not JSON")
        }
        return try Claims(json: json)
    }
}
