extension Unicode.Scalar {
    /// C0 controls (tab, newline and carriage return included), DEL and C1 controls: characters
    /// that forge log lines or move a terminal's cursor. The one rule every check of operator text
    /// (boarding file, data sources, YAML) and every display of outside text uses.
    public var isControlCharacter: Bool {
        value < 0x20 || (0x7F...0x9F).contains(value)
    }
}

/// Text from outside (a server's error message, a value quoted in an error, a status file) made
/// safe for a log line, status.json or a terminal.
public enum DisplayText {
    /// `text` with each control character shown as `?`, cut after `limit` characters (then "…").
    public static func sanitized(_ text: String, limit: Int = .max) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit { return out + "…" }
            out.unicodeScalars.append(scalar.isControlCharacter ? "?" : scalar)
            count += 1
        }
        return out
    }
}
