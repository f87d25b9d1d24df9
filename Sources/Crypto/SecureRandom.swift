import COpenSSL

/// Bytes from OpenSSL's CSPRNG, for key ids, `jti`s and correlation ids.
public enum SecureRandom {
    /// `count` cryptographically secure random bytes.
    /// The corresponding C function is `RAND_bytes`.
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        guard count >= 0, count <= Int(Int32.max) else {
            throw .invalidArgument("random byte count \(count) out of range")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        let result = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        try OpenSSLError.check(result, "RAND_bytes")
        return bytes
    }
}
