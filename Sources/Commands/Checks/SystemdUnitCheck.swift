import Agent
import Platform

/// `systemd.unit`: under systemd, `hubagent.service` is active and its watchdog is set
/// (docs/design.md §5). Read with `systemctl show -p NAME --value`, one property at a time.
enum SystemdUnitCheck: HealthCheck {
    static let id = "systemd.unit"
    static let unit = "hubagent.service"

    /// sd_booted(3): systemd is the init system when this directory exists.
    static var systemdDirectory: String {
        #if HUBAGENT_TEST_HOOKS
            // Test-only: lets the system tests stand in for a machine booted with systemd.
            let environment = ProcessEnvironment.current
            if environment["HUBAGENT_TEST_HOOKS"] == "1", let directory = environment["HUBAGENT_TEST_SYSTEMD_DIRECTORY"]
            {
                return directory
            }
        #endif
        return "/run/systemd/system"
    }

    static func run(_ context: CheckContext) -> CheckResult {
        guard (try? DirectoryEntry.of(systemdDirectory)) != nil else {
            return .skip(
                "no systemd on this machine (\(systemdDirectory) does not exist)\(daemonNote(context))",
                fix: "run hubagent under systemd (systemd/hubagent.service) to have it restarted and watched")
        }
        let unitFile =
            "install systemd/hubagent.service as /lib/systemd/system/hubagent.service, then `systemctl enable --now "
            + "hubagent`"
        guard let load = property("LoadState") else {
            return .warn(
                "`systemctl show \(unit)` gave no answer within \(Int(CheckContext.networkTimeout)) s",
                fix: "check `systemctl status \(unit)`")
        }
        guard load == "loaded" else { return .fail("\(unit) is not installed (LoadState \(load))", fix: unitFile) }
        let active = property("ActiveState") ?? "unknown"
        let watchdog = property("WatchdogUSec") ?? ""
        let watchdogSet = !(watchdog.isEmpty || watchdog == "0" || watchdog == "infinity")
        switch active {
        case "active", "reloading":
            guard watchdogSet else {
                return .warn(
                    "\(unit) is \(active), but has no watchdog (WatchdogUSec \(watchdog.isEmpty ? "unset" : watchdog))",
                    fix:
                        "keep WatchdogSec=30s from the shipped unit (`systemctl edit \(unit)` must not reset it), then "
                        + "`systemctl restart hubagent`"
                )
            }
            if let mismatch = tokenSocketGroupMismatch(context) { return mismatch }
            return .ok("\(unit) is \(active), watchdog \(watchdog)")
        case "activating":
            return .warn(
                "\(unit) is starting (activating)",
                fix: "run the check again in a minute; if it stays, `journalctl -u hubagent -b`")
        default:
            return .fail(
                "\(unit) is \(active)",
                fix: "`journalctl -u hubagent -b` tells why; then `systemctl enable --now hubagent`")
        }
    }

    /// token_socket_group in hubagent.conf against the group systemd gave token.sock
    /// (SocketGroup= of hubagent.socket, docs/design.md §8): under the unit the first is only a
    /// statement, the second is what counts, and a program of the group is refused when they differ.
    static func tokenSocketGroupMismatch(_ context: CheckContext) -> CheckResult? {
        let path = context.layout.tokenSocket
        guard let entry = try? DirectoryEntry.of(path), entry.kind == .other else { return nil }
        let actual = Users.groupName(of: entry.gid) ?? "gid \(entry.gid)"
        func dropIn(_ group: String) -> String {
            "`systemctl edit hubagent.socket`, add [Socket] SocketGroup=\(group), then `systemctl restart "
                + "hubagent.socket hubagent`"
        }
        guard let wanted = context.settings.tokenSocketGroup else {
            guard entry.gid != 0 else { return nil }
            return .fail(
                "\(path) is open to group \(actual) (SocketGroup= of hubagent.socket), but hubagent.conf names no "
                    + "token_socket_group",
                fix: "set token_socket_group = \(actual) in hubagent.conf if that is meant, else "
                    + dropIn("root"))
        }
        guard let gid = Users.groupID(named: wanted) else {
            return .fail(
                "token_socket_group \(wanted) (hubagent.conf) does not exist",
                fix: "groupadd \(wanted), add the programs' users to it, then " + dropIn(wanted))
        }
        guard gid != entry.gid else { return nil }
        return .fail(
            "token_socket_group is \(wanted) in hubagent.conf, but \(path) has group \(actual) (SocketGroup= of "
                + "hubagent.socket): members of \(wanted) cannot get tokens",
            fix: dropIn(wanted))
    }

    /// ", the daemon runs as pid N", from its status file, when one is live.
    private static func daemonNote(_ context: CheckContext) -> String {
        guard let report = StatusReport.read(context.layout.statusFile), let pid = report.pid,
            ProcessControl.exists(pid)
        else { return "" }
        return "; hubagent runs as pid \(pid)"
    }

    /// One property's value, nil when systemctl did not answer.
    static func property(_ name: String) -> String? {
        guard
            let result = Subprocess.run(
                ["systemctl", "show", "-p", name, "--value", unit], timeout: CheckContext.networkTimeout),
            result.status == 0
        else { return nil }
        var text = result.output
        while let last = text.last, last == "\n" || last == " " { text.removeLast() }
        return text
    }
}
