import COpenSSL

/// Comparisons whose running time does not depend on where the inputs differ, for MACs and
/// secrets: a timing difference would leak how much of a guessed MAC was right.
public enum ConstantTime {
    /// True when both have the same length and the same bytes. Only the contents are compared
    /// in constant time; a length mismatch returns at once, because lengths are public.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { a in b.withUnsafeBytes { b in equals(a, b) } }
    }

    /// The corresponding C function is `CRYPTO_memcmp`.
    static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }  // both empty
        return CRYPTO_memcmp(pa, pb, a.count) == 0
    }
}
