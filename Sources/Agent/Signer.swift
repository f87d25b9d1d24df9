public import Crypto

extension Identity {
    /// The signer of this identity's client assertions (docs/protocol.md §6.2): HS256 with the
    /// client secret's UTF-8 bytes, or RS256 with the private key.
    public func makeSigner() throws(CryptoError) -> JWS.Signer {
        switch profile {
        case .sharedSecret:
            guard let secret = current.clientSecret else { throw .invalidKey("no client secret stored") }
            return .hs256(key: SecretBytes(secret.exposed))
        case .rsa3072:
            guard let pem = current.privateKeyPEM else { throw .invalidKey("no private key stored") }
            return .rs256(try RSAPrivateKey(pkcs8PEM: pem))
        }
    }
}
