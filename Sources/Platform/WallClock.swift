import Glibc

/// Wall-clock time in seconds since the epoch. Replaced by a fake in tests, so that every
/// schedule can be checked in microseconds.
public protocol WallClock: Sendable {
    func now() -> Double
}

public struct SystemWallClock: WallClock {
    public init() {}

    /// The corresponding C function is `clock_gettime(CLOCK_REALTIME)`.
    public func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Microseconds of CLOCK_MONOTONIC, as systemd wants in `MONOTONIC_USEC=`.
public func monotonicMicroseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
}
