import COpenSSL

/// The hash inside an RSASSA-PKCS1-v1_5 signature: RS256, RS384, RS512 (RFC 7518 §3.3).
/// We sign with SHA-256 (docs/protocol.md §6.2); the others exist to verify what other clients send.
public enum DigestAlgorithm: Sendable {
    case sha256, sha384, sha512

    /// The corresponding C functions are `EVP_sha256`, `EVP_sha384` and `EVP_sha512`.
    var messageDigest: OpaquePointer? {
        switch self {
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    }
}
