import Agent
import Glibc
import Platform

/// `state.permissions`: the state directory is 0700 and every file in it 0600, all owned by one
/// user (design.md §9) — the rules the daemon enforces at start (exit 78), checked here for
/// every file at once, with the exact commands that fix them.
enum StatePermissionsCheck: HealthCheck {
    static let id = "state.permissions"

    static func run(_ context: CheckContext) -> CheckResult {
        let path = context.layout.stateDirectory
        let asUser = "run `hubagent check` as root or as the user hubagent runs as"
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT {
                return .skip("no state directory at \(path) yet: hubagent creates it (0700) when it first starts",
                             fix: "start hubagent (`systemctl start hubagent`) once the configuration checks pass")
            }
            return .fail("\(path): \(SystemError.message(for: code))", fix: asUser)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            return .fail("\(path) is not a directory", fix: "move it away: hubagent creates its state directory itself")
        }
        // Run as root, the directory's owner is the service user (systemd's DynamicUser); run as
        // anyone else, it must be that user, as the daemon demands of itself.
        let owner = geteuid() == 0 ? info.st_uid : geteuid()
        if info.st_uid != owner {
            return .fail("\(path): owned by uid \(info.st_uid), not by uid \(owner) that runs this check",
                         fix: "chown \(owner) \(path)   (or \(asUser))")
        }

        var problems = [String]()
        var chmodDirectory = false
        var chmodFiles = [String]()
        var chownFiles = [String]()
        var otherFixes = [String]()
        let directoryMode = info.st_mode & 0o777
        if directoryMode & 0o077 != 0 {
            problems.append("\(path): mode \(String(directoryMode, radix: 8)) lets other users read the credentials in it")
            chmodDirectory = true
        }
        guard let directory = opendir(path) else {
            return .fail("\(path) cannot be listed: \(SystemError.message(for: errno))", fix: asUser)
        }
        var files = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let file = path + "/" + name
            var entryInfo = stat()
            guard fstatat(dirfd(directory), name, &entryInfo, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch entryInfo.st_mode & S_IFMT {
            case S_IFLNK:
                problems.append("\(file) is a symbolic link: hubagent opens its state files without following links")
                otherFixes.append("replace \(file) with the file it points to")
            case S_IFREG:
                files += 1
                if entryInfo.st_uid != owner {
                    problems.append("\(file): owned by uid \(entryInfo.st_uid), not by uid \(owner) like its directory")
                    chownFiles.append(file)
                }
                let mode = entryInfo.st_mode & 0o777
                if mode & 0o077 != 0 {
                    problems.append("\(file): mode \(String(mode, radix: 8)) lets other users read a credential")
                    chmodFiles.append(file)
                }
            default:
                continue
            }
        }
        closedir(directory)

        if let first = problems.first {
            var fixes = [String]()
            if chmodDirectory { fixes.append("chmod 700 \(path)") }
            if !chownFiles.isEmpty { fixes.append("chown \(owner) " + chownFiles.joined(separator: " ")) }
            if !chmodFiles.isEmpty { fixes.append("chmod 600 " + chmodFiles.joined(separator: " ")) }
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
            let summary = "\(path): mode 700, \(files) \(files == 1 ? "file" : "files") 600, owner uid \(owner)"
            if let problem = loaded.skipped.first {
                return .warn("\(summary); unreadable: \(problem); the agent runs from the generation before it",
                             fix: "nothing, if the next save replaces it; if it comes back, check the storage (`dmesg`, the file system)")
            }
            return .ok(summary + (loaded.state.identity.map { "; identity \($0.clientID) stored" } ?? "; no identity stored yet"))
        }
    }
}
