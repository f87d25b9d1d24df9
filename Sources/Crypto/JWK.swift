/// An RSA public key as a JSON Web Key (RFC 7517), as sent in the RSA_3072 onboarding and
/// rotation bodies (docs/protocol.md §4: `Key` requires `e`, `n`, `kty`, `kid`).
///
/// `n` and `e` are the big-endian magnitude bytes in unpadded base64url (RFC 7518 §6.3.1); a
/// 3072-bit modulus is 384 bytes, so `n` is 512 characters, and e = 65537 is `"AQAB"`.
public struct JWK: Hashable, Sendable {
    public var kty: String
    public var e: String
    public var n: String
    public var kid: String

    public init(kty: String = "RSA", e: String, n: String, kid: String) {
        self.kty = kty
        self.e = e
        self.n = n
        self.kid = kid
    }
}
