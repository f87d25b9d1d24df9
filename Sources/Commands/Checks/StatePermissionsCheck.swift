import Agent
import Platform

/// `state.permissions`: the state directory is 0700 and every file in it 0600, all owned by one
/// user (docs/design.md §9) — the rules the daemon enforces at start (exit 78), `StateDirectory`'s
/// own (`StateDirectory.violations`), checked here for every file at once, with the exact
/// commands that fix them.
enum StatePermissionsCheck: HealthCheck {
    static let id = "state.permissions"

    static func run(_ context: CheckContext) -> CheckResult {
        let path = context.layout.stateDirectory
        let asUser = "run `hubagent check` as root or as the user hubagent runs as"
        let directoryEntry: DirectoryEntry
        do {
            guard let found = try DirectoryEntry.of(path) else {
                return .skip(
                    "no state directory at \(path) yet: hubagent creates it (0700) when it first starts",
                    fix: "start hubagent (`systemctl start hubagent`) once the configuration checks pass")
            }
            directoryEntry = found
        } catch {
            return .fail("\(path): \(SystemError.message(for: error.errno))", fix: asUser)
        }
        guard directoryEntry.kind == .directory else {
            return .fail("\(path) is not a directory", fix: "move it away: hubagent creates its state directory itself")
        }
        // Run as root, the directory's owner is the service user (systemd's DynamicUser); run as
        // anyone else, it must be that user, as the daemon demands of itself.
        let me = Users.effectiveUID
        let owner = me == 0 ? directoryEntry.uid : me
        var problems = [String]()
        var chmodDirectory = false
        let directoryViolations = StateDirectory.violations(
            uid: directoryEntry.uid, mode: directoryEntry.mode, owner: owner,
            isDirectory: true)
        for violation in directoryViolations {
            switch violation {
            case .owner(let uid):
                return .fail(
                    "\(path): owned by uid \(uid), not by uid \(owner) that runs this check",
                    fix: "chown \(owner) \(path)   (or \(asUser))")
            case .mode(let mode):
                problems.append("\(path): " + StateDirectory.Violation.modeProblem(mode, isDirectory: true))
                chmodDirectory = true
            }
        }
        let entries: [DirectoryEntry]
        do {
            entries = try DirectoryEntry.list(path)
        } catch {
            return .fail("\(path) cannot be listed: \(SystemError.message(for: error.errno))", fix: asUser)
        }

        var chmodFiles = [String]()
        var chownFiles = [String]()
        var otherFixes = [String]()
        var files = 0
        for entry in entries {
            let file = path + "/" + entry.name
            switch entry.kind {
            case .symbolicLink:
                problems.append("\(file) is a symbolic link: hubagent opens its state files without following links")
                otherFixes.append("replace \(file) with the file it points to")
            case .file:
                files += 1
                let violations = StateDirectory.violations(
                    uid: entry.uid, mode: entry.mode, owner: owner, isDirectory: false)
                for violation in violations {
                    switch violation {
                    case .owner(let uid):
                        problems.append("\(file): owned by uid \(uid), not by uid \(owner) like its directory")
                        chownFiles.append(file)
                    case .mode(let mode):
                        problems.append("\(file): " + StateDirectory.Violation.modeProblem(mode, isDirectory: false))
                        chmodFiles.append(file)
                    }
                }
            case .directory, .other:
                continue
            }
        }

        if let first = problems.first {
            var fixes = [String]()
            if chmodDirectory { fixes.append("chmod \(mode(StateDirectory.privateDirectoryMode)) \(path)") }
            if !chownFiles.isEmpty { fixes.append("chown \(owner) " + chownFiles.joined(separator: " ")) }
            if !chmodFiles.isEmpty {
                fixes.append("chmod \(mode(StateDirectory.privateFileMode)) " + chmodFiles.joined(separator: " "))
            }
            fixes += otherFixes
            let more = problems.count > 1 ? " (and \(problems.count - 1) more)" : ""
            return .fail(first + more + "; hubagent refuses to start (exit 78)", fix: fixes.joined(separator: "; "))
        }

        switch context.state {
        case .missing:
            return .skip("no state directory at \(path) yet", fix: "start hubagent once the configuration checks pass")
        case .unreadable(let reason):
            return .fail("the state cannot be read: \(reason)", fix: asUser)
        case .loaded(let loaded):
            let summary =
                "\(path): mode \(mode(StateDirectory.privateDirectoryMode)), "
                + "\(files) \(files == 1 ? "file" : "files") \(mode(StateDirectory.privateFileMode)), owner uid "
                + "\(owner); " + lockHolder(path)
            if let problem = loaded.skipped.first {
                return .warn(
                    "\(summary); unreadable: \(problem); the agent runs from the generation before it",
                    fix: "nothing, if the next save replaces it; if it comes back, check the storage "
                        + "(`dmesg`, the file system)")
            }
            let identity =
                loaded.state.identity.map { "; identity \($0.clientID) stored" } ?? "; no identity stored yet"
            return .ok(summary + identity)
        }
    }

    private static func mode(_ bits: UInt32) -> String { String(bits, radix: 8) }

    /// Who holds the state directory's lock (`StateLock`): the daemon that uses it, if any.
    static func lockHolder(_ path: String) -> String {
        do {
            switch try StateLock.holder(ofDirectory: path) {
            case nil:
                return "not locked (no daemon uses it)"
            case .some(nil):
                return "locked by a hubagent whose pid is not written yet"
            case .some(let pid?):
                let seen = ProcessControl.exists(pid) ? "running" : "not visible from here"
                return "locked by hubagent pid \(pid) (\(seen))"
            }
        } catch {
            return "lock unknown (\(error))"
        }
    }
}
