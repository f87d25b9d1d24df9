import COpenSSL

/// HMAC-SHA256 (RFC 2104), the HS256 JWS algorithm (docs/protocol.md §6.2).
public enum HMACSHA256 {
    public static let byteCount = 32

    /// The 32-byte MAC of `message` under `key`.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) throws(CryptoError) -> [UInt8] {
        try key.withUnsafeBufferPointer { (key) in
            Result { () throws(CryptoError) in
                try authenticationCode(key: UnsafeRawBufferPointer(key), message: message)
            }
        }.get()
    }

    /// The 32-byte MAC of `message` under a secret key, e.g. the SHARED_SECRET client secret.
    public static func authenticationCode(key: SecretBytes, message: [UInt8]) throws(CryptoError) -> [UInt8] {
        try key.withUnsafeBytes { (key) throws(CryptoError) in
            try authenticationCode(key: key, message: message)
        }
    }

    /// True when `code` is the MAC of `message` under `key`, compared in constant time.
    public static func isValid(_ code: [UInt8], key: SecretBytes, message: [UInt8]) -> Bool {
        guard let expected = try? authenticationCode(key: key, message: message) else { return false }
        return ConstantTime.equals(expected, code)
    }

    /// The corresponding C functions are `EVP_MAC_init` (in the shim), `EVP_MAC_update` and
    /// `EVP_MAC_final`.
    private static func authenticationCode(
        key: UnsafeRawBufferPointer, message: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        // HMAC allows an empty key, but EVP_MAC_init reads a NULL key as "keep the current key".
        let zero: UInt8 = 0
        let context = withUnsafePointer(to: zero) { fallback in
            hubagent_hmac_sha256_ctx_new(
                key.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback, key.count)
        }
        guard let context else { throw OpenSSLError.drain("EVP_MAC_init(HMAC-SHA256)") }
        defer { EVP_MAC_CTX_free(context) }

        let updated = message.withUnsafeBufferPointer { EVP_MAC_update(context, $0.baseAddress, $0.count) }
        try OpenSSLError.check(updated, "EVP_MAC_update")
        var code = [UInt8](repeating: 0, count: byteCount)
        var length = 0
        let finished = code.withUnsafeMutableBufferPointer {
            EVP_MAC_final(context, $0.baseAddress, &length, $0.count)
        }
        try OpenSSLError.check(finished, "EVP_MAC_final")
        guard length == byteCount else {
            throw .openssl(operation: "EVP_MAC_final", reason: "MAC length \(length), expected \(byteCount)")
        }
        return code
    }
}
