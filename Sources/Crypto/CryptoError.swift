/// Everything that can go wrong in the Crypto module.
///
/// Messages never contain key material, secrets or token contents: they name the operation and
/// the reason only, so they are safe to log.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An OpenSSL call failed; `reason` is the drained error queue (see `OpenSSLError`).
    case openssl(operation: String, reason: String)
    /// A key could not be read or does not meet our policy (type, size).
    case invalidKey(String)
    /// A compact JWS/JWT is structurally wrong: segment count, size, base64url, JSON.
    case malformedToken(String)
    /// A caller passed a value outside the accepted range.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .openssl(let operation, let reason): "OpenSSL \(operation) failed: \(reason)"
        case .invalidKey(let reason): "invalid key: \(reason)"
        case .malformedToken(let reason): "malformed token: \(reason)"
        case .invalidArgument(let reason): "invalid argument: \(reason)"
        }
    }
}
