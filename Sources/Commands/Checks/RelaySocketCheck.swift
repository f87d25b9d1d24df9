import Agent
import Platform

/// `relay.socket`: `data.sock` exists and its group can use it, so that producers in
/// `data_socket_group` reach the relay (docs/relay.md §1).
enum RelaySocketCheck: HealthCheck {
    static let id = "relay.socket"

    static func run(_ context: CheckContext) -> CheckResult {
        let relay = context.settings.relay
        guard relay.enabled else {
            return .skip("the relay is off", fix: "set relay = on in hubagent.conf to take values from local programs")
        }
        let path = context.layout.dataSocket
        var wanted: UInt32?
        if let name = relay.dataSocketGroup {
            guard let gid = Users.groupID(named: name) else {
                return .fail(
                    "data_socket_group \(name) does not exist: \(path) is for hubagent's own user only",
                    fix: "create it (`groupadd \(name)`) and add the producing users, or fix the name in hubagent.conf")
            }
            wanted = gid
        }
        let entry: DirectoryEntry?
        do {
            entry = try DirectoryEntry.of(path)
        } catch {
            return .warn("cannot see \(path): \(error)", fix: "run `hubagent check` as root or as hubagent's user")
        }
        guard let entry else {
            return .warn(
                "\(path) does not exist: hubagent is not running, or not with this hubagent.conf",
                fix: "start it (`systemctl start hubagent`), or reload after setting relay = on "
                    + "(`systemctl restart hubagent`)")
        }
        let group = Users.groupName(of: entry.gid) ?? "\(entry.gid)"
        if let wanted, entry.gid != wanted || entry.mode & 0o060 != 0o060 {
            return .fail(
                "\(path) is group \(group), mode \(String(entry.mode, radix: 8)): members of "
                    + "\(relay.dataSocketGroup ?? "") cannot send",
                fix: "under systemd, give hubagent-data.socket that group (`systemctl edit hubagent-data.socket`: "
                    + "[Socket] SocketGroup=\(relay.dataSocketGroup ?? "")), then `systemctl restart "
                    + "hubagent-data.socket hubagent`; run by hand, restart hubagent")
        }
        return .ok("\(path) is group \(group), mode \(String(entry.mode, radix: 8))")
    }
}
