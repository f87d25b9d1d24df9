import COpenSSL

/// An RSA public key: our own (its JWK goes to the server) or a peer's (to verify signatures).
///
/// Owns one public-only `EVP_PKEY`, freed in `deinit`.
public final class RSAPublicKey: @unchecked Sendable, Equatable {
    // Never mutated after init; OpenSSL 3 allows concurrent use of a key for verification.
    let pkey: OpaquePointer

    /// The modulus `n`, big-endian magnitude bytes without leading zeros.
    public let modulus: [UInt8]
    /// The public exponent `e`, big-endian magnitude bytes (`[1, 0, 1]` for 65537).
    public let exponent: [UInt8]

    /// Takes ownership of `pkey` (freeing it if it is unusable) after checking it is RSA.
    init(adopting pkey: OpaquePointer) throws(CryptoError) {
        do throws(CryptoError) {
            guard EVP_PKEY_is_a(pkey, "RSA") == 1 else { throw .invalidKey("not an RSA key") }
            modulus = try Self.parameter(OSSL_PKEY_PARAM_RSA_N, of: pkey)
            exponent = try Self.parameter(OSSL_PKEY_PARAM_RSA_E, of: pkey)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
    }

    /// A key from its components, e.g. the `n` and `e` of a JWK after base64url decoding.
    /// The corresponding C function is `EVP_PKEY_fromdata`.
    public convenience init(modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) {
        guard !modulus.isEmpty, !exponent.isEmpty else { throw .invalidKey("empty modulus or exponent") }
        try self.init(adopting: Self.fromData(modulus: modulus, exponent: exponent))
    }

    /// A key from a `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM.
    /// The corresponding C function is `PEM_read_bio_PUBKEY`.
    public convenience init(spkiPEM: String) throws(CryptoError) {
        let pkey = try Array(spkiPEM.utf8).withUnsafeBufferPointer { (text) in
            Result { () throws(CryptoError) in
                try PEM.reading(UnsafeRawBufferPointer(text)) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
            }
        }.get()
        guard let pkey else {
            throw .invalidKey("not a PEM public key (\(OpenSSLError.drainReason()))")
        }
        try self.init(adopting: pkey)
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// The size of the modulus in bits. The corresponding C function is `EVP_PKEY_get_bits`.
    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// The key as a JWK with unpadded base64url `n` and `e` (docs/protocol.md §4).
    public func jwk(kid: String) -> JWK {
        JWK(e: Base64URL.encode(exponent), n: Base64URL.encode(modulus), kid: kid)
    }

    /// The key as a `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) PEM.
    /// The corresponding C function is `PEM_write_bio_PUBKEY`.
    public func spkiPEM() throws(CryptoError) -> String {
        try PEM.writing(secret: false, operation: "PEM_write_bio_PUBKEY") {
            PEM_write_bio_PUBKEY($0, pkey)
        } extract: {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// True when `signature` is a valid RSASSA-PKCS1-v1_5 signature of `message`.
    /// Any failure, including a malformed signature, is simply `false`.
    /// The corresponding C function is `EVP_DigestVerify`. Internal: only the tests verify.
    func verify(signature: [UInt8], message: [UInt8], digest: DigestAlgorithm = .sha256) -> Bool {
        guard let context = EVP_MD_CTX_new() else {
            OpenSSLError.clear()
            return false
        }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer? = nil
        let valid =
            EVP_DigestVerifyInit(context, &keyContext, digest.messageDigest, nil, pkey) == 1
            && EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1
            && signature.withUnsafeBufferPointer { signature in
                message.withUnsafeBufferPointer { message in
                    EVP_DigestVerify(
                        context, signature.baseAddress, signature.count, message.baseAddress, message.count)
                }
            } == 1
        // A bad signature is an expected outcome: leave nothing on the queue for the next caller.
        if !valid { OpenSSLError.clear() }
        return valid
    }

    public static func == (lhs: RSAPublicKey, rhs: RSAPublicKey) -> Bool {
        lhs.modulus == rhs.modulus && lhs.exponent == rhs.exponent
    }

    /// One big-number parameter of a key, as big-endian magnitude bytes.
    /// The corresponding C function is `EVP_PKEY_get_bn_param`.
    static func parameter(_ name: String, of pkey: OpaquePointer) throws(CryptoError) -> [UInt8] {
        var number: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &number) == 1, let number else {
            throw OpenSSLError.drain("EVP_PKEY_get_bn_param(\(name))")
        }
        defer { BN_free(number) }
        var bytes = [UInt8](repeating: 0, count: Int(hubagent_BN_num_bytes(number)))
        _ = bytes.withUnsafeMutableBufferPointer { BN_bn2bin(number, $0.baseAddress) }
        return bytes
    }

    /// A new public-only RSA `EVP_PKEY` from `n` and `e`.
    /// The corresponding C function is `EVP_PKEY_fromdata`.
    static func fromData(modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) -> OpaquePointer {
        guard modulus.count <= 2048, exponent.count <= 2048 else {  // 16384 bits is plenty
            throw .invalidKey("modulus or exponent too large")
        }
        guard let builder = OSSL_PARAM_BLD_new() else { throw OpenSSLError.drain("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        let n = modulus.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        defer { BN_free(n) }
        let e = exponent.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        defer { BN_free(e) }
        guard let n, let e else { throw OpenSSLError.drain("BN_bin2bn") }
        // The builder keeps the name pointers, so they come from the shim (static storage), not
        // from a bridged Swift String that dies when the call returns.
        try OpenSSLError.check(
            OSSL_PARAM_BLD_push_BN(builder, hubagent_OSSL_PKEY_PARAM_RSA_N(), n), "OSSL_PARAM_BLD_push_BN(n)")
        try OpenSSLError.check(
            OSSL_PARAM_BLD_push_BN(builder, hubagent_OSSL_PKEY_PARAM_RSA_E(), e), "OSSL_PARAM_BLD_push_BN(e)")
        guard let params = OSSL_PARAM_BLD_to_param(builder) else {
            throw OpenSSLError.drain("OSSL_PARAM_BLD_to_param")
        }
        defer { OSSL_PARAM_free(params) }

        guard let context = hubagent_EVP_PKEY_CTX_new_RSA() else {
            throw OpenSSLError.drain("EVP_PKEY_CTX_new_from_name(RSA)")
        }
        defer { EVP_PKEY_CTX_free(context) }
        try OpenSSLError.check(EVP_PKEY_fromdata_init(context), "EVP_PKEY_fromdata_init")
        var pkey: OpaquePointer? = nil
        try OpenSSLError.check(
            EVP_PKEY_fromdata(context, &pkey, hubagent_EVP_PKEY_PUBLIC_KEY(), params), "EVP_PKEY_fromdata")
        guard let pkey else { throw OpenSSLError.drain("EVP_PKEY_fromdata") }
        return pkey
    }
}
