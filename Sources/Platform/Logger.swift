import Glibc
import Synchronization

/// syslog priorities, as the journal reads them from a `<N>` line prefix (sd-daemon(3)).
public enum LogLevel: Int32, Comparable, Sendable, CaseIterable {
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public init?(name: String) {
        switch name.lowercased() {
        case "error", "err": self = .error
        case "warning", "warn": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }
}

/// Where log lines go. The daemon writes to stderr; tests collect lines in memory.
public protocol LogSink: Sendable {
    func write(_ level: LogLevel, _ message: String)
}

/// One line per event. Messages are composed by the caller from non-secret values only: the
/// credential types print themselves as `<redacted>` so a mistake cannot leak one.
public final class Logger: Sendable {
    private let minimum: Mutex<LogLevel>
    private let sink: any LogSink

    public init(minimum: LogLevel = .info, sink: any LogSink = StderrLogSink()) {
        self.minimum = Mutex(minimum)
        self.sink = sink
    }

    public var level: LogLevel {
        get { minimum.withLock { $0 } }
        set { minimum.withLock { $0 = newValue } }
    }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level <= self.level else { return }
        sink.write(level, message())
    }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func notice(_ message: @autoclosure () -> String) { log(.notice, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
}

/// Writes whole lines to fd 2 with one write(2) each. When stderr is the journal, each line
/// carries its `<N>` priority prefix; otherwise a plain `level: ` word.
public struct StderrLogSink: LogSink {
    public let toJournal: Bool

    public init(environment: [String: String] = ProcessEnvironment.current) {
        toJournal = Self.stderrIsJournal(journalStream: environment["JOURNAL_STREAM"])
    }

    /// `$JOURNAL_STREAM` describes stdout's connection; stderr may have been redirected elsewhere,
    /// so compare fd 2's device and inode with it instead of testing for its presence
    /// (systemd.exec(5)).
    public static func stderrIsJournal(journalStream: String?) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    public func write(_ level: LogLevel, _ message: String) {
        var text = ""
        for line in message.split(separator: "\n", omittingEmptySubsequences: false) {
            text += toJournal ? "<\(level.rawValue)>\(line)\n" : "\(level.name): \(line)\n"
        }
        FileOutput.write(fd: 2, text)
    }
}

/// Unbuffered whole-text writes: Swift 6 forbids touching C's `stdout`, and `print` is
/// block-buffered on a pipe.
public enum FileOutput {
    public static func write(fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// The process environment as a dictionary (FoundationEssentials' ProcessInfo would do, at the
/// cost of importing it here).
public enum ProcessEnvironment {
    public static var current: [String: String] {
        var result = [String: String]()
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let separator = text.firstIndex(of: "=") {
                result[String(text[..<separator])] = String(text[text.index(after: separator)...])
            }
            pointer += 1
        }
        return result
    }
}
