import Agent
import Glibc
import Platform

/// `systemd.unit`: under systemd, `hubagent.service` is active and its watchdog is set
/// (design.md §5). Read with `systemctl show -p NAME --value`, one property at a time.
enum SystemdUnitCheck: HealthCheck {
    static let id = "systemd.unit"
    static let unit = "hubagent.service"

    /// sd_booted(3): systemd is the init system when this directory exists.
    static var systemdDirectory: String {
        #if HUBAGENT_TEST_HOOKS
        // Test-only: lets the system tests stand in for a machine booted with systemd.
        let environment = ProcessEnvironment.current
        if environment["HUBAGENT_TEST_HOOKS"] == "1", let directory = environment["HUBAGENT_TEST_SYSTEMD_DIRECTORY"] {
            return directory
        }
        #endif
        return "/run/systemd/system"
    }

    static func run(_ context: CheckContext) -> CheckResult {
        guard access(systemdDirectory, F_OK) == 0 else {
            return .skip("no systemd on this machine (\(systemdDirectory) does not exist)\(daemonNote(context))",
                         fix: "run hubagent under systemd (systemd/hubagent.service) to have it restarted and watched")
        }
        let unitFile = "install systemd/hubagent.service as /lib/systemd/system/hubagent.service, then `systemctl enable --now hubagent`"
        guard let load = property("LoadState") else {
            return .warn("`systemctl show \(unit)` gave no answer within \(Int(CheckContext.networkTimeout)) s", fix: "check `systemctl status \(unit)`")
        }
        guard load == "loaded" else { return .fail("\(unit) is not installed (LoadState \(load))", fix: unitFile) }
        let active = property("ActiveState") ?? "unknown"
        let watchdog = property("WatchdogUSec") ?? ""
        let watchdogSet = !(watchdog.isEmpty || watchdog == "0" || watchdog == "infinity")
        switch active {
        case "active", "reloading":
            guard watchdogSet else {
                return .warn("\(unit) is \(active), but has no watchdog (WatchdogUSec \(watchdog.isEmpty ? "unset" : watchdog))",
                             fix: "keep WatchdogSec=30s from the shipped unit (`systemctl edit \(unit)` must not reset it), then `systemctl restart hubagent`")
            }
            return .ok("\(unit) is \(active), watchdog \(watchdog)")
        case "activating":
            return .warn("\(unit) is starting (activating)", fix: "run the check again in a minute; if it stays, `journalctl -u hubagent -b`")
        default:
            return .fail("\(unit) is \(active)", fix: "`journalctl -u hubagent -b` tells why; then `systemctl enable --now hubagent`")
        }
    }

    /// ", the daemon runs as pid N", from its status file, when one is live.
    private static func daemonNote(_ context: CheckContext) -> String {
        guard let report = StatusCommand.readLiveReport(context.layout), let pid = report.pid,
              kill(pid, 0) == 0 || errno == EPERM else { return "" }
        return "; hubagent runs as pid \(pid)"
    }

    /// One property's value, nil when systemctl did not answer.
    static func property(_ name: String) -> String? {
        guard let result = Subprocess.run(["systemctl", "show", "-p", name, "--value", unit], timeout: CheckContext.networkTimeout),
              result.status == 0 else { return nil }
        var text = result.output
        while let last = text.last, last == "\n" || last == " " { text.removeLast() }
        return text
    }
}

/// Runs a program found on PATH, its standard output captured (at most 64 KiB), standard error
/// discarded, killed after `timeout` seconds.
enum Subprocess {
    struct Finished {
        var status: Int32
        var output: String
    }

    /// The corresponding C function is `posix_spawnp`.
    static func run(_ arguments: [String], timeout: Double) -> Finished? {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { return nil }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        // Not inherited by the child beyond its standard output (nor by anything else spawned).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            return nil
        }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = monotonicSeconds() + timeout
        var timedOut = false
        while true {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { timedOut = true; break }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(remaining * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { if ready == 0 { continue } else { break } }
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            if output.count < 64 * 1024 { output += buffer.prefix(count) }
        }
        close(readEnd)
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard !timedOut else { return nil }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        let exitStatus: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : -1
        return Finished(status: exitStatus, output: String(decoding: output, as: UTF8.self))
    }

    private static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
