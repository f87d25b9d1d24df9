import Platform

/// Times and durations as an operator reads them.
public enum Format {
    /// `2026-11-28T10:42:00Z`.
    public static func time(_ epoch: Double) -> String { UTCCalendar.iso8601(epoch) }

    /// `30`, `0.6667`: integers without a fraction, others to four decimals.
    public static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let scaled = (value * 10000).rounded() / 10000
        return "\(scaled)"
    }

    /// `3d 4h`, `5m 2s`, `800ms`.
    public static func duration(_ seconds: Double) -> String {
        let negative = seconds < 0
        let value = abs(seconds)
        let text: String
        if value < 1 {
            text = "\(Int((value * 1000).rounded()))ms"
        } else {
            let total = Int(value.rounded())
            let (d, h, m, s) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
            if d > 0 {
                text = "\(d)d \(h)h"
            } else if h > 0 {
                text = "\(h)h \(m)m"
            } else if m > 0 {
                text = "\(m)m \(s)s"
            } else {
                text = "\(s)s"
            }
        }
        return negative ? "-" + text : text
    }

    /// `label  value` rows with the values aligned, as `hubagent status` prints them. A terminal
    /// shows these: no value may move its cursor or forge a line.
    public static func aligned(_ rows: [(label: String, value: String)]) -> String {
        let width = rows.map(\.label.count).max() ?? 0
        return rows.map {
            $0.label + String(repeating: " ", count: width - $0.label.count + 2) + DisplayText.sanitized($0.value)
        }.joined(separator: "\n")
    }
}
