import JSON

/// The self-signed JWT an agent sends to `/oauth/token` to get an access token (docs/protocol.md §6.1,
/// §6.2), built as MCL builds it: header `{"typ":"JWT","alg":…}` without `kid`, compact
/// payload with claims in the order `iss,sub,aud,iat,nbf,exp,schemas,ten,jti`.
public enum ClientAssertion {
    /// Five minutes. MCL uses a day (docs/protocol.md §6.2), but a captured assertion stays usable
    /// for its whole lifetime, and we make a fresh one for every token request anyway.
    public static let defaultLifetime: Int64 = 300
    /// The server accepts a string or an array (docs/protocol.md §6.2); we send the array form.
    static let audience = ["southgate"]
    static let schemas = ["urn:siemens:mindsphere:v1"]

    /// The compact, unpadded assertion.
    ///
    /// - Parameters:
    ///   - clientID: `iss` and `sub`: the agent's client id (docs/protocol.md §1).
    ///   - tenant: `ten`, the boarding configuration's `content.tenant`.
    ///   - issuedAt: `iat` and `nbf`, epoch seconds, already corrected by the caller for the
    ///     server's clock (docs/protocol.md §10.3).
    ///   - lifetime: `exp` − `iat`, in seconds.
    ///   - jti: a fresh `UUIDv4.random()` for every assertion.
    ///   - signer: `.hs256` with the client secret (SHARED_SECRET) or `.rs256` with the agent's
    ///     key (RSA_3072).
    public static func make(
        clientID: String, tenant: String, issuedAt: Int64, lifetime: Int64 = defaultLifetime,
        jti: String, signer: JWS.Signer
    ) throws(CryptoError) -> String {
        guard !clientID.isEmpty, !tenant.isEmpty, !jti.isEmpty else {
            throw .invalidArgument("client id, tenant and jti must not be empty")
        }
        guard lifetime > 0, issuedAt >= 0, issuedAt <= Int64.max - lifetime else {
            throw .invalidArgument("issuedAt \(issuedAt) with lifetime \(lifetime) is out of range")
        }
        return try JWS.sign(
            header: header(for: signer),
            payload: payload(
                clientID: clientID, tenant: tenant, issuedAt: issuedAt, lifetime: lifetime, jti: jti),
            with: signer)
    }

    /// Exactly MCL's header (docs/protocol.md §6.2).
    static func header(for signer: JWS.Signer) -> [UInt8] {
        Array(JSONValue.object([("typ", .string("JWT")), ("alg", .string(signer.algorithm))]).serialized.utf8)
    }

    static func payload(
        clientID: String, tenant: String, issuedAt: Int64, lifetime: Int64, jti: String
    ) -> [UInt8] {
        let payload = JSONValue.object([
            ("iss", .string(clientID)),
            ("sub", .string(clientID)),
            ("aud", .array(audience.map(JSONValue.string))),
            ("iat", .number(Double(issuedAt))),
            ("nbf", .number(Double(issuedAt))),
            ("exp", .number(Double(issuedAt + lifetime))),
            ("schemas", .array(schemas.map(JSONValue.string))),
            ("ten", .string(tenant)),
            ("jti", .string(jti)),
        ])
        return Array(payload.serialized.utf8)
    }
}
