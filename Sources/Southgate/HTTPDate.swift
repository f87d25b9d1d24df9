import Platform

/// The server clock from response headers, and `Retry-After`: the one parser of both, for the
/// daemon and for `hubagent check`.
public enum HTTPDate {
    /// `Server-Time` (epoch seconds, docs/protocol.md §6.3) when present, else `Date` (RFC 9110 §6.6.1).
    public static func serverTime(_ headers: [String: String]) -> Double? {
        if let value = headers["server-time"], let seconds = decimalSeconds(value.trimmingASCIISpaces()),
            plausible.contains(seconds)
        {
            return seconds
        }
        return headers["date"].flatMap(parseIMFFixdate).flatMap { plausible.contains($0) ? $0 : nil }
    }

    /// A server clock outside 2000…2999 is a broken header, not a time to steer by (an `inf` or
    /// `1e300` would otherwise overflow every computation that follows).
    static let plausible = 946_684_800.0...32_503_680_000.0

    /// Seconds to wait: delta-seconds, or an HTTP-date relative to nothing we know, so only the
    /// delta form is honoured and a date is read as "a while" (60 s).
    public static func retryAfter(_ value: String) -> Double? {
        let trimmed = value.trimmingASCIISpaces()
        if let seconds = decimalSeconds(trimmed) { return min(seconds, 3600) }
        return parseIMFFixdate(trimmed) != nil ? 60 : nil
    }

    /// `123` or `123.45` and nothing else: `Double(_:)` would also take `0x1p3`, `inf`, `nan`,
    /// `1e3` or a sign, none of which a server means by a number of seconds.
    static func decimalSeconds(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        let integer = bytes.prefix(while: isDigit)
        guard !integer.isEmpty, integer.count <= 15 else { return nil }
        let rest = bytes.dropFirst(integer.count)
        if !rest.isEmpty {
            guard rest.first == UInt8(ascii: "."), rest.count >= 2, rest.dropFirst().allSatisfy(isDigit) else {
                return nil
            }
        }
        return Double(text)
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` → epoch seconds.
    static func parseIMFFixdate(_ text: String) -> Double? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT",
            let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]),
            (1970...9999).contains(year)
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (0..<24).contains(clock[0]), (0..<60).contains(clock[1]),
            (0..<61).contains(clock[2])
        else { return nil }
        let days = UTCCalendar.daysSinceEpoch(year: year, month: month + 1, day: day)
        // 31 November is a broken header, not 1 December.
        guard UTCCalendar.civil(fromDays: days) == (year, month + 1, day) else { return nil }
        return Double(days * 86400 + clock[0] * 3600 + clock[1] * 60 + clock[2])
    }
}
