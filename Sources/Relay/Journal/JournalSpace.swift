import Platform

/// The disk bound in force (docs/relay.md §3): `relay_max_disk`, but never more than a quarter of
/// the file system's free space, and at least 8 MiB.
public enum JournalSpace {
    public static let minimum: Int64 = 8 << 20

    /// The bound for a journal in `directory`. Its own files count as free: they are what the
    /// bound is spent on, so a full journal does not shrink its own bound at the next start.
    /// When the file system cannot be asked, the configured value stands.
    public static func effectiveMaxDisk(configured: Int64, directory: String) -> Int64 {
        guard let available = try? FileSystemSpace.available(at: directory) else { return max(minimum, configured) }
        let inUse = (try? FileSystemSpace.regularFileBytes(in: directory)) ?? 0
        return effectiveMaxDisk(configured: configured, available: available, inUse: inUse)
    }

    public static func effectiveMaxDisk(configured: Int64, available: Int64, inUse: Int64 = 0) -> Int64 {
        let (sum, overflow) = available.addingReportingOverflow(inUse)
        return max(minimum, min(configured, (overflow ? Int64.max : sum) / 4))
    }
}
