/// Random (version 4) UUIDs, for the client assertion's `jti` and JWK `kid`s (docs/protocol.md §4, §6.2).
public enum UUIDv4 {
    /// A lowercase `8-4-4-4-12` string, e.g. `3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17`.
    public static func random() throws(CryptoError) -> String {
        var bytes = try SecureRandom.bytes(16)
        bytes[6] = bytes[6] & 0x0F | 0x40  // version 4 (RFC 9562 §5.4)
        bytes[8] = bytes[8] & 0x3F | 0x80  // variant 10xx (RFC 9562 §4.1)
        let hex = Array(Hex.encode(bytes).utf8)
        var out: [UInt8] = []
        for (index, symbol) in hex.enumerated() {
            if [8, 12, 16, 20].contains(index) { out.append(UInt8(ascii: "-")) }
            out.append(symbol)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
