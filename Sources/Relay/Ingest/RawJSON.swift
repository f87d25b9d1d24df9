/// A JSON reader for request bodies that keeps what `JSONValue` cannot: the exact text of each
/// number (a LONG above 2^53 must not pass through `Double`), and strings as byte ranges of the
/// body, decoded only when needed. Same grammar and nesting limit as `JSONValue.parse`.
struct RawJSON {
    /// A string's content between its quotes; `escaped` when it holds a backslash escape.
    struct Text {
        let range: Range<Int>
        let escaped: Bool
    }

    enum Node {
        case null
        case bool(Bool)
        /// The number's source text.
        case number(Range<Int>)
        case string(Text)
        case array([Node])
        case object([(key: Text, value: Node)])
    }

    struct SyntaxError: Error, Equatable {
        let offset: Int
        let message: String
    }

    static let maximumDepth = 64

    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses `range` as one JSON document. The caller checks UTF-8 beforehand (strings are kept
    /// as byte ranges and decoded without validation).
    func parse(_ range: Range<Int>) throws(SyntaxError) -> Node {
        var parser = Parser(bytes: bytes, index: range.lowerBound, end: range.upperBound)
        parser.skipWhitespace()
        let node = try parser.value()
        parser.skipWhitespace()
        guard parser.index == range.upperBound else {
            throw SyntaxError(offset: parser.index, message: "unexpected text after the end of the JSON value")
        }
        return node
    }

    /// The decoded text of a string.
    func text(_ text: Text) -> String {
        if !text.escaped { return String(decoding: bytes[text.range], as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(text.range.count)
        var index = text.range.lowerBound
        while index < text.range.upperBound {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = Self.hex4(bytes, index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (Self.hex4(bytes, index + 2) - 0xDC00)
                    index += 6
                }
                // The parser let only valid scalars through.
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
            default: out.append(escape)  // " \ /
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a string equals `literal` (ASCII, no escapes needed), without decoding it.
    func text(_ text: Text, equals literal: StaticString) -> Bool {
        if text.escaped { return self.text(text) == literal.description }
        guard text.range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { buffer in
            var index = text.range.lowerBound
            for byte in buffer {
                if bytes[index] != byte { return false }
                index += 1
            }
            return true
        }
    }

    static func hex4(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in at..<at + 4 { value = value * 16 + UInt32(hexDigit(bytes[index]) ?? 0) }
        return value
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// 1-based line and column (in bytes) of an offset, for messages.
    func position(of offset: Int, from start: Int = 0) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = start
        for index in start..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        return (line, offset - lineStart + 1)
    }

    /// Whether `bytes` are valid UTF-8: checked once per body, eight bytes at a time while they are ASCII.
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        let ascii = bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset + 8 <= raw.count {
                if raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
                    return false
                }
                offset += 8
            }
            while offset < raw.count {
                if raw[offset] >= 0x80 { return false }
                offset += 1
            }
            return true
        }
        return ascii || String(validating: bytes, as: UTF8.self) != nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var index: Int
        let end: Int
        var depth = 0

        func error(_ message: String, at offset: Int? = nil) -> SyntaxError {
            SyntaxError(offset: offset ?? index, message: message)
        }

        mutating func skipWhitespace() {
            while index < end {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value() throws(SyntaxError) -> Node {
            guard index < end else { throw error("unexpected end: a value is missing") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try word("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try word("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try word("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default:
                throw error("unexpected character; a value is expected (text needs double quotes)")
            }
        }

        mutating func word(_ word: StaticString) throws(SyntaxError) {
            let count = word.utf8CodeUnitCount
            let matches =
                end - index >= count
                && word.withUTF8Buffer { buffer in
                    buffer.indices.allSatisfy { bytes[index + $0] == buffer[$0] }
                }
            guard matches else {
                throw error("unexpected word; text needs double quotes, or write true, false or null")
            }
            index += count
        }

        mutating func enter() throws(SyntaxError) {
            depth += 1
            if depth > RawJSON.maximumDepth { throw error("nesting deeper than \(RawJSON.maximumDepth) levels") }
        }

        mutating func object() throws(SyntaxError) -> Node {
            try enter()
            defer { depth -= 1 }
            index += 1
            var members: [(key: Text, value: Node)] = []
            members.reserveCapacity(4)  // a value object has 2 to 4 members
            skipWhitespace()
            if index < end, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < end else { throw error("unexpected end inside an object; a '}' is missing") }
                guard bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name in double quotes") }
                let key = try string()
                skipWhitespace()
                guard index < end, bytes[index] == UInt8(ascii: ":") else {
                    throw error("expected ':' after a member name")
                }
                index += 1
                skipWhitespace()
                members.append((key, try value()))
                skipWhitespace()
                guard index < end else { throw error("unexpected end inside an object; a '}' is missing") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                throw error("expected ',' or '}' after a member")
            }
        }

        mutating func array() throws(SyntaxError) -> Node {
            try enter()
            defer { depth -= 1 }
            index += 1
            var items: [Node] = []
            skipWhitespace()
            if index < end, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try value())
                skipWhitespace()
                guard index < end else { throw error("unexpected end inside an array; a ']' is missing") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                throw error("expected ',' or ']' after an array element")
            }
        }

        mutating func string() throws(SyntaxError) -> Text {
            let start = index
            index += 1
            var escaped = false
            while true {
                guard index < end else { throw error("unterminated string", at: start) }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return Text(range: start + 1..<index - 1, escaped: escaped)
                case UInt8(ascii: "\\"):
                    escaped = true
                    guard index + 1 < end else { throw error("unterminated string", at: start) }
                    let escape = bytes[index + 1]
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 2
                    case UInt8(ascii: "u"):
                        index += 2
                        let scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard end - index >= 2, bytes[index] == UInt8(ascii: "\\"),
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { throw error("lone surrogate in \\u escape") }
                            index += 2
                            guard (0xDC00..<0xE000).contains(try hex4()) else {
                                throw error("invalid surrogate pair in \\u escape")
                            }
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw error("lone surrogate in \\u escape")
                        }
                    default:
                        throw error("invalid escape in string")
                    }
                case 0x00..<0x20:
                    throw error("control character in string (write it as an escape such as \\n)")
                default:
                    index += 1
                }
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard end - index >= 4 else { throw error("incomplete \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = RawJSON.hexDigit(bytes[index]) else { throw error("invalid hex digit in \\u escape") }
                value = value * 16 + UInt32(digit)
                index += 1
            }
            return value
        }

        mutating func number() throws(SyntaxError) -> Range<Int> {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            let integerStart = index
            let integerDigits = digits()
            guard integerDigits > 0 else { throw error("invalid number", at: start) }
            if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") {
                throw error("numbers may not have leading zeros", at: start)
            }
            if index < end, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw error("invalid number: digits expected after '.'", at: start) }
            }
            if index < end, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("invalid number: digits expected in exponent", at: start) }
            }
            return start..<index
        }

        mutating func digits() -> Int {
            let from = index
            while index < end, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            return index - from
        }
    }
}
