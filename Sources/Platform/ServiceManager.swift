import CSystemd
import Glibc

/// Talks to systemd through sd_notify(3): readiness, status, watchdog, reload and stop
/// (docs/design.md §5). The one file that imports libsystemd. Without `$NOTIFY_SOCKET` (not started
/// by systemd) every call is a no-op.
public struct ServiceManager: Sendable {
    public let isManaged: Bool

    public init(environment: [String: String]) {
        isManaged = environment["NOTIFY_SOCKET"] != nil
    }

    /// The corresponding C function is `sd_notify`.
    public func notify(_ fields: [String]) {
        guard isManaged else { return }
        // One datagram, newline-separated assignments (sd_notify(3)); STATUS must be one line.
        let text = fields.map { $0.replacingNewlines() }.joined(separator: "\n")
        _ = sd_notify(0, text)
    }

    public func ready(status: String) { notify(["READY=1", "STATUS=" + status]) }
    public func status(_ text: String) { notify(["STATUS=" + text]) }
    public func stopping() { notify(["STOPPING=1", "STATUS=stopping"]) }
    public func watchdog() { notify(["WATCHDOG=1"]) }

    /// First thing on SIGHUP, in one datagram: systemd 253+ wants MONOTONIC_USEC with
    /// RELOADING=1, and 252 waits for READY=1 only if RELOADING=1 arrives before the kill
    /// helper exits (docs/platform-notes.md systemd §3.3).
    public func reloading() {
        notify(["RELOADING=1", "MONOTONIC_USEC=\(monotonicMicroseconds())", "STATUS=reloading"])
    }

    /// Why the daemon is about to exit with a configuration error; systemd shows it as `StatusErrno`.
    public enum FailureCause: Sendable {
        /// A setting or a file's content is wrong (EINVAL).
        case invalidConfiguration
        /// Something the daemon needs is held by another process (EBUSY).
        case busy
        /// Permissions that hubagent refuses to work with (EPERM).
        case insecure
        /// A system call failed for a reason the operator must fix.
        case system(SystemError)

        var errno: Int32 {
            switch self {
            case .invalidConfiguration: EINVAL
            case .busy: EBUSY
            case .insecure: EPERM
            case .system(let error): error.errno
            }
        }
    }

    /// Before exiting with a configuration error.
    public func failing(_ cause: FailureCause, status: String) {
        notify(["ERRNO=\(cause.errno)", "STATUS=" + status])
    }

    /// Seconds between watchdog pings (half of `WATCHDOG_USEC`), when systemd expects them from
    /// this process (`WATCHDOG_PID` unset or ours). The corresponding C function is
    /// `sd_watchdog_enabled`.
    public func watchdogInterval() -> Double? {
        guard isManaged else { return nil }
        var microseconds: UInt = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return Double(microseconds) / 2_000_000
    }
    /// The descriptors systemd passed to this process ($LISTEN_FDS, $LISTEN_PID), each with its
    /// `FileDescriptorName=`; empty when started otherwise. The environment is left as it is, so
    /// every server can look for its own. The corresponding C function is
    /// `sd_listen_fds_with_names`.
    public static func passedSockets() -> [(name: String, descriptor: Int32)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(0, &names)
        guard count > 0 else { return [] }
        defer { free(names) }
        return (0..<Int(count)).map { index in
            defer { free(names?[index]) }
            let name = names?[index].map { String(cString: $0) } ?? "unknown"
            return (name, SD_LISTEN_FDS_START + Int32(index))
        }
    }

    /// Whether `fd` is a listening Unix stream socket. The corresponding C function is
    /// `sd_is_socket_unix`.
    public static func isListeningUnixStream(_ fd: Int32) -> Bool {
        sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : Character($0) })
    }
}
