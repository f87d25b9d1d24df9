import Agent

/// One diagnostic. `id` is stable (shown, and matched on by scripts); `run` only reads.
protocol HealthCheck {
    static var id: String { get }
    static func run(_ context: CheckContext) -> CheckResult
}

/// What a check found: a one-line message and, unless OK, a one-line fix.
struct CheckResult {
    enum Status: String {
        case ok = "OK"
        case warn = "WARN"
        case fail = "FAIL"
        case skip = "SKIP"
    }

    var id = ""
    var status: Status
    var message: String
    var fix: String?

    init(_ status: Status, _ message: String, fix: String? = nil) {
        self.status = status
        self.message = Self.oneLine(message)
        self.fix = fix.map(Self.oneLine)
    }

    static func ok(_ message: String) -> CheckResult { CheckResult(.ok, message) }
    static func warn(_ message: String, fix: String) -> CheckResult { CheckResult(.warn, message, fix: fix) }
    static func fail(_ message: String, fix: String) -> CheckResult { CheckResult(.fail, message, fix: fix) }
    static func skip(_ message: String, fix: String) -> CheckResult { CheckResult(.skip, message, fix: fix) }

    private static func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }))
    }
}

extension ConfigurationError {
    /// `file:line:column: message`, without the fix (a check shows that on its own line).
    var checkMessage: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return "\(location): \(message)"
    }
}
