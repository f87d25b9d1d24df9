import Glibc

/// What the daemon does to itself at the start of `hubagent run`, before it reads a credential
/// (docs/design.md §5): no core dumps and no ptrace by other processes of its user, a broken pipe
/// that is an error instead of death, and all the descriptors the hard limit allows.
public enum ProcessHardening {
    /// Core dumps off (RLIMIT_CORE 0, soft and hard) and the process not dumpable
    /// (`PR_SET_DUMPABLE` 0: no core, no ptrace attach or /proc/<pid>/mem for the same uid, its
    /// /proc files owned by root). The unit sets LimitCORE=0 too; this covers a daemon run by
    /// hand or under another supervisor. The corresponding C functions are `setrlimit` and `prctl`.
    public static func disableCoreDumps() throws(SystemError) {
        guard prctl(setDumpable, 0) == 0 else { throw SystemError("prctl", "PR_SET_DUMPABLE") }
        var current = rlimit()
        // Already none (the unit's LimitCORE=0): nothing to change.
        if getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &current) == 0, current.rlim_max == 0 { return }
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        guard setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none) == 0 else {
            throw SystemError("setrlimit", "RLIMIT_CORE")
        }
    }

    /// Whether the process is dumpable (`PR_GET_DUMPABLE`), for tests and diagnostics.
    public static var isDumpable: Bool { prctl(getDumpable, 0) != 0 }

    /// Ignores SIGPIPE: a write to a closed pipe or socket (stderr whose reader is gone, stdout
    /// piped into `head`) fails with EPIPE instead of ending the process. The corresponding C
    /// function is `signal`.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Raises the soft descriptor limit to the hard one; returns the new soft limit. Run by hand
    /// the soft limit is often 1,024 below a hard 524,288; under the unit both are 4,096. The
    /// servers' connection caps stay far below either, so that a state save always finds a
    /// descriptor (docs/design.md §8). The corresponding C functions are `getrlimit` and `setrlimit`.
    @discardableResult
    public static func raiseDescriptorLimit() throws(SystemError) -> UInt64 {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw SystemError("getrlimit", "RLIMIT_NOFILE")
        }
        guard limit.rlim_cur < limit.rlim_max else { return UInt64(limit.rlim_cur) }
        var raised = rlimit(rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max)
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 else {
            throw SystemError("setrlimit", "RLIMIT_NOFILE")
        }
        return UInt64(raised.rlim_cur)
    }

    /// The soft descriptor limit. The corresponding C function is `getrlimit`.
    public static var descriptorLimit: UInt64 {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return UInt64(limit.rlim_cur)
    }

    /// `prctl` is variadic in C, which Swift does not import. glibc's prctl reads its arguments as
    /// unsigned longs, and on Linux's x86_64 and aarch64 ABIs integer arguments travel in the same
    /// registers for a variadic and a fixed-argument call: so it is called through a fixed
    /// five-argument pointer, looked up once.
    /// <linux/prctl.h>, which the Glibc module does not carry.
    private static let getDumpable: Int32 = 3
    private static let setDumpable: Int32 = 4

    private typealias PrctlFunction = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let prctlFunction: PrctlFunction? = dlsym(nil, "prctl").map {
        unsafeBitCast($0, to: PrctlFunction.self)
    }

    private static func prctl(_ option: Int32, _ argument: UInt) -> Int32 {
        guard let prctlFunction else {
            errno = ENOSYS
            return -1
        }
        return prctlFunction(option, argument, 0, 0, 0)
    }
}
