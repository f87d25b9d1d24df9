public import Crypto

/// Why the stored credentials cannot sign a client assertion; each case says which part is
/// missing or broken, never its value.
public enum SignerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A SHARED_SECRET identity without its client secret.
    case noClientSecret
    /// An RSA_3072 identity without its private key.
    case noPrivateKey
    /// The stored private key cannot be read or does not meet the key policy.
    case invalidKey(CryptoError)

    public var description: String {
        switch self {
        case .noClientSecret: "the stored SHARED_SECRET identity has no client secret"
        case .noPrivateKey: "the stored RSA_3072 identity has no private key"
        case .invalidKey(let cause): "the stored private key cannot be used: \(cause)"
        }
    }
}

extension Identity {
    /// The signer of this identity's client assertions (docs/protocol.md §6): HS256 with the client
    /// secret, or RS256 with the private key of the current registration. `parsedKey`, when given,
    /// is that key already parsed (parsing a PEM per token is waste); it is not checked against
    /// the stored PEM, so the caller keys its cache by the PEM.
    public func makeSigner(parsedKey: RSAPrivateKey? = nil) throws(SignerError) -> JWS.Signer {
        switch profile {
        case .sharedSecret:
            guard let secret = current.clientSecret else { throw .noClientSecret }
            return .hs256(key: SecretBytes(secret.exposed))
        case .rsa3072:
            if let parsedKey { return .rs256(parsedKey) }
            guard let pem = current.privateKeyPEM else { throw .noPrivateKey }
            do {
                return .rs256(try RSAPrivateKey(pkcs8PEM: pem))
            } catch {
                throw .invalidKey(error)
            }
        }
    }
}
