public import Agent
import Platform

/// What a value must be for its data point's type (docs/relay.md §2), shared by ingest and by
/// revalidation after a configuration change.
///
/// Text lengths count UTF-16 code units, as the data source configuration does (and the Java service
/// behind it): for text without emoji or combining marks that is the number of characters.
public enum ValueRules {
    /// docs/protocol.md §14: STRING ≤ 255 characters.
    public static let maximumStringLength = 255
    /// docs/protocol.md §14: BIG_STRING ≤ 100,000 characters.
    public static let maximumBigStringLength = 100_000

    /// Whether a stored value still fits `type`: the same kind of value within the type's limits
    /// (an INT value fits LONG; a LONG value fits INT only within 32 bits; text fits TIMESTAMP only
    /// in the exchange's form). Nil when it fits, else why not.
    public static func misfit(_ value: RecordValue, for type: DataPointType) -> String? {
        switch (value, type) {
        case (.integer(let number), .int):
            return Int64(Int32.min)...Int64(Int32.max) ~= number ? nil : "\(number) is outside INT's 32 bits"
        case (.integer, .long): return nil
        case (.double(let number), .double): return number.isFinite ? nil : "not a finite number"
        case (.boolean, .boolean): return nil
        case (.text(let text), .string):
            return text.utf16.count <= maximumStringLength
                ? nil : "longer than STRING's \(maximumStringLength) characters"
        case (.text(let text), .bigString):
            return text.utf16.count <= maximumBigStringLength
                ? nil : "longer than BIG_STRING's \(maximumBigStringLength) characters"
        case (.text(let text), .timestamp):
            return Timestamps.parseExchangeForm(text) != nil ? nil : "not a timestamp in the exchange's form"
        default:
            return "a \(kind(value)) value does not fit type \(type.rawValue)"
        }
    }

    static func kind(_ value: RecordValue) -> String {
        switch value {
        case .integer: "integer"
        case .double: "floating-point"
        case .boolean: "boolean"
        case .text: "text"
        }
    }
}

/// A value rejected at ingest, with the reason a producer reads.
struct ValueProblem: Error {
    let reason: String
}

extension RawJSON {
    /// Producer text for a message: sanitized and cut.
    func quoted(_ node: Node) -> String {
        switch node {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let range): return DisplayText.sanitized(String(decoding: bytes[range], as: UTF8.self), limit: 40)
        case .string(let text): return "\"" + DisplayText.sanitized(self.text(text), limit: 40) + "\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The bytes of a number, or of a string without escapes; a string with escapes is decoded.
    private func scalarBytes(_ node: Node) -> ArraySlice<UInt8>? {
        switch node {
        case .number(let range): return bytes[range]
        case .string(let text): return text.escaped ? Array(self.text(text).utf8)[...] : bytes[text.range]
        default: return nil
        }
    }

    /// `node` as a value of `type`: a JSON number, boolean or string (the Node SDK sends strings:
    /// "10", "true"); a string must read as the type. STRING and BIG_STRING also take a number or a
    /// boolean, stored as its JSON text (`12.50` stays "12.50"); TIMESTAMP takes ISO 8601 or epoch
    /// milliseconds and stores the exchange's form.
    func recordValue(_ node: Node, as type: DataPointType) throws(ValueProblem) -> RecordValue {
        if case .null = node { throw ValueProblem(reason: "value is null; send a \(type.rawValue) value") }
        switch type {
        case .int, .long:
            guard let text = scalarBytes(node) else {
                throw ValueProblem(
                    reason: "\(quoted(node)) is not an integer; \(type.rawValue) takes e.g. 42 or \"42\"")
            }
            return .integer(try integer(text, bits: type == .int ? 32 : 64, node: node))
        case .double:
            guard let text = scalarBytes(node), case .some(let number) = NumberText.double(text) else {
                throw ValueProblem(
                    reason: "\(quoted(node)) is not a number; DOUBLE takes e.g. 21.5 or \"21.5\" (no NaN or Infinity)")
            }
            guard number.isFinite else {
                throw ValueProblem(reason: "\(quoted(node)) is beyond DOUBLE's range; send a finite number")
            }
            return .double(number)
        case .boolean:
            switch node {
            case .bool(let value): return .boolean(value)
            case .string(let text) where self.text(text, equals: "true"): return .boolean(true)
            case .string(let text) where self.text(text, equals: "false"): return .boolean(false)
            default:
                throw ValueProblem(
                    reason: "\(quoted(node)) is not a boolean; BOOLEAN takes true, false, \"true\" or \"false\"")
            }
        case .string, .bigString:
            let limit = type == .string ? ValueRules.maximumStringLength : ValueRules.maximumBigStringLength
            let text: String
            switch node {
            case .string(let raw):
                // UTF-16 never has more code units than the raw text has bytes: short text needs no count.
                text = self.text(raw)
                if raw.range.count > limit, text.utf16.count > limit {
                    throw ValueProblem(
                        reason: "\(text.utf16.count) characters is longer than \(type.rawValue)'s \(limit); "
                            + (type == .string ? "shorten it or make the data point BIG_STRING" : "shorten it"))
                }
            case .number(let range): text = String(decoding: bytes[range], as: UTF8.self)
            case .bool(let value): text = value ? "true" : "false"
            default: throw ValueProblem(reason: "\(quoted(node)) is not text; \(type.rawValue) takes a string")
            }
            return .text(text)
        case .timestamp:
            var milliseconds: Int64 = 0
            do throws(Timestamps.ParseError) {
                switch node {
                case .string(let raw):
                    milliseconds =
                        try raw.escaped
                        ? Timestamps.parseISO8601(self.text(raw)) : Timestamps.parseISO8601(bytes[raw.range])
                case .number(let range):
                    guard case .value(let number) = NumberText.integer(bytes[range]) else {
                        throw .syntax("epoch milliseconds must be an integer")
                    }
                    milliseconds = try Timestamps.checkEpochMilliseconds(number)
                default:
                    throw .syntax("TIMESTAMP takes a string")
                }
            } catch {
                throw ValueProblem(reason: "\(quoted(node)): \(error.reason)")
            }
            return .text(Timestamps.exchangeForm(milliseconds))
        }
    }

    private func integer(_ text: ArraySlice<UInt8>, bits: Int, node: Node) throws(ValueProblem) -> Int64 {
        let name = bits == 32 ? "INT" : "LONG"
        let range = bits == 32 ? "-2147483648 to 2147483647" : "-9223372036854775808 to 9223372036854775807"
        switch NumberText.integer(text) {
        case .value(let number):
            if bits == 32, !(Int64(Int32.min)...Int64(Int32.max) ~= number) {
                throw ValueProblem(reason: "\(quoted(node)) is outside INT's range \(range); make the data point LONG")
            }
            return number
        case .notANumber:
            throw ValueProblem(reason: "\(quoted(node)) is not an integer; \(name) takes e.g. 42 or \"42\"")
        case .notInteger:
            throw ValueProblem(reason: "\(quoted(node)) has a fraction; \(name) takes whole numbers only")
        case .outOfRange:
            throw ValueProblem(reason: "\(quoted(node)) is outside \(name)'s range \(range)")
        }
    }
}
