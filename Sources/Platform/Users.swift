import Glibc

/// Users, groups and processes, as the commands ask about them.
public enum Users {
    /// The effective user id of this process. The corresponding C function is `geteuid`.
    public static var effectiveUID: UInt32 { geteuid() }

    /// The id of the group `name`, nil when there is none. The corresponding C function is `getgrnam`.
    public static func groupID(named name: String) -> UInt32? {
        getgrnam(name).map { $0.pointee.gr_gid }
    }

    /// The name of group `gid`, nil when it has none. The corresponding C function is `getgrgid`.
    public static func groupName(of gid: UInt32) -> String? {
        getgrgid(gid).flatMap { $0.pointee.gr_name.map { String(cString: $0) } }
    }

    /// Runs `body` with the effective uid and gid `uid`/`gid` (root only), then as root again.
    /// Not root, or when the switch fails, `body` runs with the ids as they are. The
    /// corresponding C functions are `setegid` and `seteuid`.
    public static func asUser<Value>(uid: UInt32, gid: UInt32, _ body: () -> Value) -> Value {
        guard setegid(gid) == 0 else { return body() }
        guard seteuid(uid) == 0 else {
            _ = setegid(0)
            return body()
        }
        defer {
            _ = seteuid(0)
            _ = setegid(0)
        }
        return body()
    }
}
