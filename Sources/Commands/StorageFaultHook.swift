#if HUBAGENT_TEST_HOOKS
    import Platform
    import Synchronization

    /// Test-only storage faults through the `Syscall` choke point: `SYSCALL:ERRNO:WHEN`, comma
    /// separated, WHEN `N`, `N..M` or `N+` as in strace's `inject=...:when=`. Unlike strace, calls
    /// are counted per process and only on paths in the state directory: strace counts per thread
    /// (the effects queue moves between threads) and `-P` matches whole paths only, while temp file
    /// names carry the pid and the generation.
    final class StorageFaultHook: Sendable {
        struct Rule {
            var name: Syscall.Name
            var code: Int32
            var errorName: String
            var first: Int
            var last: Int
        }

        private let rules: [Rule]
        private let directory: String
        private let logger: Logger
        private let counts = Mutex<[Syscall.Name: Int]>([:])

        static let names: [String: Syscall.Name] = [
            "open": .open, "openat": .open, "write": .write, "fsync": .fsync, "fdatasync": .fsync,
            "pwrite": .write, "pread": .read, "ftruncate": .write,
            "rename": .rename, "renameat": .rename, "renameat2": .rename, "unlink": .unlink, "unlinkat": .unlink,
            "close": .close, "read": .read, "mkdir": .mkdir,
        ]

        init?(_ text: String, directory: String, logger: Logger) {
            var rules = [Rule]()
            for item in text.split(separator: ",") {
                let parts = item.split(separator: ":").map(String.init)
                guard parts.count == 3, let name = Self.names[parts[0]], let code = SystemError.code(named: parts[1])
                else {
                    return nil
                }
                let when = parts[2]
                let first: Int?
                let last: Int?
                if when.hasSuffix("+") {
                    first = Int(when.dropLast())
                    last = Int.max
                } else if let range = when.firstRange(of: "..") {
                    first = Int(when[..<range.lowerBound])
                    last = Int(when[range.upperBound...])
                } else {
                    first = Int(when)
                    last = first
                }
                guard let first, let last, first >= 1, last >= first else { return nil }
                rules.append(Rule(name: name, code: code, errorName: parts[1], first: first, last: last))
            }
            guard !rules.isEmpty else { return nil }
            self.rules = rules
            self.directory = directory
            self.logger = logger
        }

        func install() {
            Syscall.setPathFaultInjector { [self] name, subject in
                guard subject == directory || subject.hasPrefix(directory + "/") else { return nil }
                let position = counts.withLock { counts in
                    counts[name, default: 0] += 1
                    return counts[name]!
                }
                guard let rule = rules.first(where: { $0.name == name && (($0.first)...($0.last)).contains(position) })
                else { return nil }
                logger.warning("test hook: injecting \(rule.errorName) into \(name.rawValue) #\(position) (\(subject))")
                return rule.code
            }
        }
    }
#endif
