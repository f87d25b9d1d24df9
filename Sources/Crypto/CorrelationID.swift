/// The `Correlation-ID` request header: 16 random bytes as 32 lowercase hex characters, as MCL
/// sends it (docs/protocol.md §1).
public enum CorrelationID {
    public static func random() throws(CryptoError) -> String {
        Hex.encode(try SecureRandom.bytes(16))
    }
}
