/// base64url (RFC 4648 §5) as JWS uses it.
///
/// Encoding never pads (RFC 7515 §2). Decoding is tolerant, because the official C client pads its
/// segments and a documented sample uses the standard alphabet (docs/protocol.md §6.2): `=` padding is
/// ignored and `+` / `/` are read as `-` / `_`.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        table[Int(UInt8(ascii: "+"))] = 62
        table[Int(UInt8(ascii: "/"))] = 63
        return table
    }()

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = iterator.next()
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            if let b1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)]) }
            if let b2 { out.append(alphabet[Int(b2 & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Returns nil for a character outside both alphabets or an impossible length.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var symbols = [UInt8]()
        symbols.reserveCapacity(text.utf8.count)
        var sawPadding = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                sawPadding = true
                continue
            }
            if sawPadding { return nil }  // data after padding
            let value = decodeTable[Int(byte)]
            if value == 0xFF { return nil }
            symbols.append(value)
        }
        if symbols.count % 4 == 1 { return nil }
        var out = [UInt8]()
        out.reserveCapacity(symbols.count * 3 / 4)
        var index = 0
        while index < symbols.count {
            let chunk = symbols[index..<min(index + 4, symbols.count)]
            let s = Array(chunk) + [UInt8](repeating: 0, count: 4 - chunk.count)
            out.append(s[0] << 2 | s[1] >> 4)
            if chunk.count > 2 { out.append(s[1] << 4 | s[2] >> 2) }
            if chunk.count > 3 { out.append(s[2] << 6 | s[3]) }
            index += 4
        }
        return out
    }
}
