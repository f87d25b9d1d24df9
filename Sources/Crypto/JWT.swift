import FoundationEssentials

/// Reading the claims of a JSON Web Token (RFC 7519) without verifying it.
///
/// The IAT, the registration access token and the access token are opaque server tokens to us:
/// we cannot verify them, and only read claims such as `exp` to schedule renewals
/// (protocol.md §3, §6.4). Nothing read here may be trusted for a security decision.
public enum JWT {
    /// The registered and MindSphere claims we look at; every field is optional.
    public struct Claims: Decodable, Equatable, Sendable {
        public var iss: String?
        public var sub: String?
        /// A string or an array in the wire format (protocol.md §6.2); always an array here.
        public var aud: [String]?
        /// NumericDate values (RFC 7519 §2) in epoch seconds; a fractional value is rounded down.
        public var iat: Int64?
        public var nbf: Int64?
        public var exp: Int64?
        public var jti: String?
        /// The tenant (protocol.md §6.4).
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

        private enum CodingKeys: String, CodingKey {
            case iss, sub, aud, iat, nbf, exp, jti, ten, schemas, scope
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            iss = try container.decodeIfPresent(String.self, forKey: .iss)
            sub = try container.decodeIfPresent(String.self, forKey: .sub)
            aud = try Self.stringOrArray(container, .aud)
            iat = try Self.numericDate(container, .iat)
            nbf = try Self.numericDate(container, .nbf)
            exp = try Self.numericDate(container, .exp)
            jti = try container.decodeIfPresent(String.self, forKey: .jti)
            ten = try container.decodeIfPresent(String.self, forKey: .ten)
            schemas = try container.decodeIfPresent([String].self, forKey: .schemas)
            scope = try Self.stringOrArray(container, .scope)
        }

        /// Integers as written by most issuers, doubles as MCL computes them (protocol.md §6.2).
        private static func numericDate(
            _ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
        ) throws -> Int64? {
            if let integer = try? container.decodeIfPresent(Int64.self, forKey: key) { return integer }
            guard let real = try container.decodeIfPresent(Double.self, forKey: key) else { return nil }
            guard real.isFinite, let seconds = Int64(exactly: real.rounded(.down)) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "not a representable NumericDate")
            }
            return seconds
        }

        private static func stringOrArray(
            _ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
        ) throws -> [String]? {
            if let single = try? container.decodeIfPresent(String.self, forKey: key) { return [single] }
            return try container.decodeIfPresent([String].self, forKey: key)
        }
    }

    /// The payload claims of `token`, which is parsed (see `JWS.parse`) but not verified.
    public static func unverifiedClaims(of token: String) throws(CryptoError) -> Claims {
        let parsed = try JWS.parse(token)
        do {
            return try JSONDecoder().decode(Claims.self, from: Data(parsed.payloadJSON))
        } catch {
            // The decoder's message can quote the payload; name only what was wrong.
            throw .malformedToken("the payload is not a JSON object with well-typed claims")
        }
    }
}
