import Agent
import Platform
import Relay

/// `relay.disk`: the relay directory's file system has room for `relay_max_disk` (docs/relay.md §3:
/// the journal never takes more than a quarter of the free space).
enum RelayDiskCheck: HealthCheck {
    static let id = "relay.disk"

    static func run(_ context: CheckContext) -> CheckResult {
        let relay = context.settings.relay
        guard relay.enabled else {
            return .skip("the relay is off", fix: "set relay = on in hubagent.conf to take values from local programs")
        }
        // The journal's directory once it exists, else the nearest directory it will be made in.
        var directory = context.layout.relayDirectory
        while ((try? DirectoryEntry.of(directory)) ?? nil) == nil, let slash = directory.lastIndex(of: "/") {
            directory = slash == directory.startIndex ? "/" : String(directory[..<slash])
        }
        let available: Int64
        do {
            available = try FileSystemSpace.available(at: directory)
        } catch {
            return .warn(
                "cannot ask the file system of \(directory): \(error)", fix: "run as root or as hubagent's user")
        }
        let effective = JournalSpace.effectiveMaxDisk(configured: relay.maxDisk, directory: directory)
        let text = "\(mebibytes(available)) free on the file system of \(directory)"
        guard effective >= relay.maxDisk else {
            return .warn(
                "\(text): the relay keeps at most \(mebibytes(effective)) (a quarter of it), not relay_max_disk "
                    + mebibytes(relay.maxDisk),
                fix: "free space there, or lower relay_max_disk in hubagent.conf to what the disk can give")
        }
        return .ok("\(text); relay_max_disk \(mebibytes(relay.maxDisk)) fits")
    }

    static func mebibytes(_ bytes: Int64) -> String {
        bytes >= 10 << 20 ? "\(bytes >> 20) MiB" : "\(Double(bytes * 10 >> 20) / 10) MiB"
    }
}
