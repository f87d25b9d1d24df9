import Platform

/// Timestamps at ingest and on the wire: milliseconds since the epoch, UTC.
///
/// Accepted at ingest (docs/relay.md §1): ISO 8601 / RFC 3339 date-times with seconds and an
/// explicit offset — `2026-12-03T10:45:00Z`, `…+01:00`, `…-0130`, `…+01`, `T` or a space between
/// date and time — with a fraction of any length (`.` or `,`); and epoch milliseconds as a JSON
/// integer. Digits after the third fractional one are cut (truncation toward the past, as
/// JavaScript's `Date` does): the exchange keeps milliseconds (docs/protocol.md §14). A time without
/// an offset is refused rather than guessed: the gateway's zone is not the producer's contract.
/// Leap seconds (`:60`) and hour 24 are refused; so is anything outside the years 0000…9999, which
/// the exchange's 24-character form cannot carry.
public enum Timestamps {
    /// 0000-01-01T00:00:00.000Z.
    public static let earliest: Int64 = -62_167_219_200_000
    /// 9999-12-31T23:59:59.999Z.
    public static let latest: Int64 = 253_402_300_799_999

    public enum ParseError: Error, Equatable, Sendable {
        /// Not in an accepted shape; the text says which part.
        case syntax(String)
        /// A local time: the offset is missing.
        case missingOffset
        /// Well formed but not on the calendar, e.g. `2026-02-29`, `25:00`.
        case impossible(String)
        /// Outside 0000…9999 once in UTC.
        case outOfRange

        /// What is wrong and how to write it instead.
        public var reason: String {
            let example = "write e.g. 2026-12-03T10:45:00.000Z, 2026-12-03T11:45:00+01:00 or epoch milliseconds"
            switch self {
            case .syntax(let what): return "not an ISO 8601 date-time (\(what)); " + example
            case .missingOffset: return "the time has no offset; add Z for UTC or the offset such as +01:00"
            case .impossible(let what): return "no such date or time: \(what)"
            case .outOfRange: return "outside the years 0000 to 9999 in UTC"
            }
        }
    }

    /// Parses an ISO 8601 date-time with an offset; see the type's documentation.
    public static func parseISO8601(_ text: String) throws(ParseError) -> Int64 {
        try parseISO8601(Array(text.utf8)[...])
    }

    /// The same over UTF-8 bytes (a slice of a request body, without copying it).
    public static func parseISO8601(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> Int64 {
        var cursor = bytes.startIndex
        let end = bytes.endIndex

        func digits(_ count: Int, _ what: String) throws(ParseError) -> Int {
            guard end - cursor >= count else { throw .syntax("\(what) expected as \(count) digits") }
            var value = 0
            for _ in 0..<count {
                let digit = bytes[cursor] &- UInt8(ascii: "0")
                guard digit < 10 else { throw .syntax("\(what) expected as \(count) digits") }
                value = value * 10 + Int(digit)
                cursor += 1
            }
            return value
        }
        func expect(_ symbol: UInt8, _ what: String) throws(ParseError) {
            guard cursor < end, bytes[cursor] == symbol else {
                throw .syntax("'\(Character(Unicode.Scalar(symbol)))' expected \(what)")
            }
            cursor += 1
        }

        let year = try digits(4, "year")
        try expect(UInt8(ascii: "-"), "after the year")
        let month = try digits(2, "month")
        try expect(UInt8(ascii: "-"), "after the month")
        let day = try digits(2, "day")
        guard cursor < end, [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[cursor]) else {
            throw .syntax("'T' and the time expected after the date")
        }
        cursor += 1
        let hour = try digits(2, "hour")
        try expect(UInt8(ascii: ":"), "after the hour")
        let minute = try digits(2, "minute")
        try expect(UInt8(ascii: ":"), "after the minute (seconds are required)")
        let second = try digits(2, "second")
        var millisecond = 0
        if cursor < end, bytes[cursor] == UInt8(ascii: ".") || bytes[cursor] == UInt8(ascii: ",") {
            cursor += 1
            var count = 0
            while cursor < end, bytes[cursor] &- UInt8(ascii: "0") < 10 {
                if count < 3 { millisecond = millisecond * 10 + Int(bytes[cursor] - UInt8(ascii: "0")) }
                count += 1
                cursor += 1
            }
            guard count > 0 else { throw .syntax("digits expected after the decimal point") }
            for _ in count..<max(count, 3) { millisecond *= 10 }
        }
        guard cursor < end else { throw .missingOffset }
        var offsetSeconds = 0
        switch bytes[cursor] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            cursor += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = bytes[cursor] == UInt8(ascii: "-") ? -1 : 1
            cursor += 1
            let offsetHour = try digits(2, "offset hours")
            var offsetMinute = 0
            if cursor < end {
                if bytes[cursor] == UInt8(ascii: ":") { cursor += 1 }
                offsetMinute = try digits(2, "offset minutes")
            }
            guard offsetHour < 24, offsetMinute < 60 else {
                throw .impossible("offset \(offsetHour):\(offsetMinute)")
            }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        default:
            throw .syntax("'Z' or an offset such as +01:00 expected after the time")
        }
        guard cursor == end else { throw .syntax("unexpected text after the offset") }

        guard (1...12).contains(month) else { throw .impossible("month \(month)") }
        guard (1...daysInMonth(year: year, month: month)).contains(day) else {
            throw .impossible("day \(day) of \(year)-\(month < 10 ? "0" : "")\(month)")
        }
        guard hour < 24, minute < 60, second < 60 else { throw .impossible("time \(hour):\(minute):\(second)") }
        let days = UTCCalendar.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let milliseconds = Int64(seconds) * 1000 + Int64(millisecond)
        guard (earliest...latest).contains(milliseconds) else { throw .outOfRange }
        return milliseconds
    }

    /// Epoch milliseconds as given in a request: only the range is checked.
    public static func checkEpochMilliseconds(_ milliseconds: Int64) throws(ParseError) -> Int64 {
        guard (earliest...latest).contains(milliseconds) else { throw .outOfRange }
        return milliseconds
    }

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The exchange's form `YYYY-MM-DDTHH:mm:ss.SSSZ`, exactly 24 characters (docs/protocol.md §14),
    /// for any time from `earliest` to `latest`. Outside that range (only a bug upstream can get
    /// there) the year is written with as many digits as it needs and the text is longer.
    public static func exchangeForm(_ milliseconds: Int64) -> String {
        // Floor division without overflow, for any Int64 (a corrupt journal must not trap here).
        var days = Int(milliseconds / 86_400_000)
        var millisecondOfDay = Int(milliseconds % 86_400_000)
        if millisecondOfDay < 0 {
            days -= 1
            millisecondOfDay += 86_400_000
        }
        let date = UTCCalendar.civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func put(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        if (0...9999).contains(date.year) {
            put(date.year, 4)
        } else {
            out.append(contentsOf: Array(String(date.year).utf8))
        }
        out.append(UInt8(ascii: "-"))
        put(date.month, 2)
        out.append(UInt8(ascii: "-"))
        put(date.day, 2)
        out.append(UInt8(ascii: "T"))
        put(millisecondOfDay / 3_600_000, 2)
        out.append(UInt8(ascii: ":"))
        put(millisecondOfDay / 60_000 % 60, 2)
        out.append(UInt8(ascii: ":"))
        put(millisecondOfDay / 1000 % 60, 2)
        out.append(UInt8(ascii: "."))
        put(millisecondOfDay % 1000, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The milliseconds of a text exactly in the exchange's form, else nil.
    public static func parseExchangeForm(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[23] == UInt8(ascii: "Z"), bytes[19] == UInt8(ascii: "."),
            bytes[10] == UInt8(ascii: "T"),
            let milliseconds = try? parseISO8601(bytes[...])
        else { return nil }
        return milliseconds
    }
}
