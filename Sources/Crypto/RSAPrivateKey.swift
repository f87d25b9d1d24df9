import COpenSSL

/// The agent's RSA_3072 key pair (docs/protocol.md §4): generated on the gateway, stored as PKCS#8
/// PEM, used to sign RS256 client assertions (docs/protocol.md §6.2).
///
/// Owns one `EVP_PKEY`, freed in `deinit`.
public final class RSAPrivateKey: @unchecked Sendable {
    /// The RSA_3072 profile's key size (docs/protocol.md §4); smaller keys are refused on load.
    public static let minimumBits = 3072
    /// Larger keys only cost time; nobody needs them here.
    static let maximumBits = 16384

    // Never mutated after init; OpenSSL 3 allows concurrent signing with one key.
    let pkey: OpaquePointer

    /// The public half, as a separate public-only key that holds no private material.
    public let publicKey: RSAPublicKey

    /// Takes ownership of `pkey` (freeing it if it is refused) after checking the key policy.
    init(adopting pkey: OpaquePointer, minimumBits: Int = RSAPrivateKey.minimumBits) throws(CryptoError) {
        do throws(CryptoError) {
            guard EVP_PKEY_is_a(pkey, "RSA") == 1 else {
                throw .invalidKey("not an RSA private key (the RSA_3072 profile needs RSA)")
            }
            let bits = Int(EVP_PKEY_get_bits(pkey))
            guard bits >= minimumBits else {
                throw .invalidKey("RSA key has \(bits) bits; at least \(minimumBits) are required")
            }
            let modulus = try RSAPublicKey.parameter(OSSL_PKEY_PARAM_RSA_N, of: pkey)
            let exponent = try RSAPublicKey.parameter(OSSL_PKEY_PARAM_RSA_E, of: pkey)
            publicKey = try RSAPublicKey(modulus: modulus, exponent: exponent)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
    }

    /// A fresh key with e = 65537, as MCL generates it (docs/protocol.md §4). Takes about a second
    /// for 3072 bits.
    /// The corresponding C function is `EVP_RSA_gen`.
    public static func generate(bits: Int = RSAPrivateKey.minimumBits) throws(CryptoError) -> RSAPrivateKey {
        guard (minimumBits...maximumBits).contains(bits) else {
            throw .invalidArgument("RSA key size \(bits) is outside \(minimumBits)...\(maximumBits)")
        }
        guard let pkey = hubagent_EVP_RSA_gen(UInt32(bits)) else { throw OpenSSLError.drain("EVP_RSA_gen") }
        return try RSAPrivateKey(adopting: pkey)
    }

    /// Reads a `-----BEGIN PRIVATE KEY-----` (PKCS#8) PEM; unencrypted keys only. Refuses keys that
    /// are not RSA or are smaller than `minimumBits`.
    /// The corresponding C function is `PEM_read_bio_PrivateKey`.
    public convenience init(pkcs8PEM: SecretBytes) throws(CryptoError) {
        try self.init(pem: pkcs8PEM, minimumBits: Self.minimumBits)
    }

    /// As `init(pkcs8PEM:)` with a lower size floor, so tests can load the RFC 7515 A.2 key.
    convenience init(pem: SecretBytes, minimumBits: Int) throws(CryptoError) {
        let pkey = try pem.withUnsafeBytes { (text) throws(CryptoError) in
            // A password callback that supplies none: OpenSSL's default would prompt on the
            // terminal, which would hang a daemon that meets an encrypted key.
            try PEM.reading(text) { PEM_read_bio_PrivateKey($0, nil, { _, _, _, _ in 0 }, nil) }
        }
        guard let pkey else {
            throw .invalidKey("not an unencrypted PEM private key (\(OpenSSLError.drainReason()))")
        }
        try self.init(adopting: pkey, minimumBits: minimumBits)
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// The size of the modulus in bits. The corresponding C function is `EVP_PKEY_get_bits`.
    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), for the credential
    /// store; built in secure memory and returned as `SecretBytes`.
    /// The corresponding C function is `PEM_write_bio_PrivateKey`.
    public func pkcs8PEM() throws(CryptoError) -> SecretBytes {
        try PEM.writing(secret: true, operation: "PEM_write_bio_PrivateKey") {
            PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil)
        } extract: {
            SecretBytes($0)
        }
    }

    /// An RSASSA-PKCS1-v1_5 signature of `message` (RS256 with `.sha256`, RFC 7518 §3.3).
    /// The corresponding C function is `EVP_DigestSign`.
    public func sign(_ message: [UInt8], digest: DigestAlgorithm = .sha256) throws(CryptoError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError.drain("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer? = nil
        try OpenSSLError.check(
            EVP_DigestSignInit(context, &keyContext, digest.messageDigest, nil, pkey), "EVP_DigestSignInit")
        // PKCS#1 v1.5 is OpenSSL's default for RSA; say so, since RS256 depends on it.
        try OpenSSLError.check(
            EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING), "EVP_PKEY_CTX_set_rsa_padding")
        var signature = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(pkey)))
        var length = signature.count
        let result = signature.withUnsafeMutableBufferPointer { signature in
            message.withUnsafeBufferPointer { message in
                EVP_DigestSign(context, signature.baseAddress, &length, message.baseAddress, message.count)
            }
        }
        try OpenSSLError.check(result, "EVP_DigestSign")
        return Array(signature.prefix(length))
    }
}
