import COpenSSL

/// SHA-256 (FIPS 180-4), for fingerprints and as the digest inside HS256/RS256.
public enum SHA256 {
    public static let byteCount = 32

    /// The 32-byte digest of `bytes`.
    ///
    /// Not throwing: a one-shot digest fails only when OpenSSL cannot allocate memory or has no
    /// default provider, an installation too broken to continue on.
    /// The corresponding C function is `EVP_Digest`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let result = bytes.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        guard result == 1, length == byteCount else {
            preconditionFailure("\(OpenSSLError.drain("EVP_Digest(SHA-256)"))")
        }
        return digest
    }

    /// `hash(bytes)` as 64 lowercase hex characters.
    public static func hexHash(_ bytes: [UInt8]) -> String {
        Hex.encode(hash(bytes))
    }
}
