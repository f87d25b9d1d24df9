import Platform

/// A problem in a file the operator wrote, told the way a compiler would: `file:line:column:
/// message`, plus what to do about it. The daemon exits with 78 (EX_CONFIG) on these at start.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var fix: String?

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String, fix: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = Self.bounded(message)
        self.fix = fix.map(Self.bounded)
    }

    /// An error quotes what it found, and what it found may be a 1 MB value or hold control
    /// characters: the text reaches the log, status.json and terminals, so it is cut at
    /// `maximumTextLength` characters and controls are shown as `?`.
    static let maximumTextLength = 400

    static func bounded(_ text: String) -> String {
        DisplayText.sanitized(text, limit: maximumTextLength)
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        var text = "\(location): \(message)"
        if let fix { text += "; \(fix)" }
        return text
    }
}
