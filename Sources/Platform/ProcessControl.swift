import Glibc

/// This process and others, by pid.
public enum ProcessControl {
    /// The corresponding C function is `getpid`.
    public static var id: Int32 { getpid() }

    /// Whether process `pid` exists (also when it belongs to another user). The corresponding C
    /// function is `kill` with signal 0.
    public static func exists(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Ends the process normally (atexit handlers, buffered output flushed). The corresponding C
    /// function is `exit`.
    public static func exit(_ status: Int32) -> Never {
        Glibc.exit(status)
    }

    /// Ends the process at once, without atexit handlers or flushing. The corresponding C
    /// function is `_exit`.
    public static func exitImmediately(_ status: Int32) -> Never {
        _exit(status)
    }
}
