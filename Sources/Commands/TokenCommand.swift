import Agent
import JSON
import Platform

/// `hubagent token`: prints a valid access token from the running daemon, for scripts:
/// `curl -H "Authorization: Bearer $(hubagent token)" …`.
enum TokenCommand {
    static let help = """
        Usage: hubagent token [--runtime-dir DIR]

        Prints a valid access token, taken from the running daemon over its token socket
        (token.sock in the runtime directory, default $RUNTIME_DIRECTORY, else \(Layout.defaultRuntimeDirectory)).
        The caller needs access to the socket: its owner, or a member of token_socket_group.

            curl -H "Authorization: Bearer $(hubagent token)" https://…

        Exit status: 0 token printed, 1 no token (the reason goes to stderr), 64 usage.
        """

    static func main(_ arguments: [String]) -> Int32 {
        ProcessHardening.ignoreBrokenPipe()  // stdout into `head`, or a daemon gone mid-answer: an error, not death
        let options: Options
        do {
            options = try Options(arguments, valued: ["runtime-dir", "state-dir", "config-dir"], switches: [])
        } catch {
            Output.error("hubagent token: \(error); see `hubagent help token`")
            return ExitCode.usage
        }
        let path = options.layout(environment: ProcessEnvironment.current).tokenSocket
        if let problem = RuntimeEntryTrust.problem(with: path) {
            Output.error("hubagent token: not asking \(path) for a token: \(problem)")
            return ExitCode.failure
        }
        switch LocalRequest(target: "/token").perform(path: path, timeout: 35, limit: Layout.Limit.tokenSocketAnswer) {
        case .failure(let failure):
            Output.error("hubagent token: \(failure)")
            return ExitCode.failure
        case .success(let answer):
            let json = try? JSONValue.parse(answer.body)
            guard answer.status == 200, let token = json?["access_token"]?.stringValue else {
                Output.error("hubagent token: \(json?["error"]?.stringValue ?? "the daemon answered \(answer.status)")")
                return ExitCode.failure
            }
            Output.line(token)
            return ExitCode.ok
        }
    }

    /// The daemon runs, but this user may not use its socket: say whose it is and how to get in.
    static func permissionDenied(_ path: String) -> String {
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        // The socket when it can be seen, else the directory that hides it.
        let (what, entry) =
            ((try? DirectoryEntry.of(path)) ?? nil).map { (path, $0) }
            ?? (parent, (try? DirectoryEntry.of(parent)) ?? nil)
        let me = Users.effectiveUID
        guard let entry else {
            return "permission denied on \(path) (uid \(me)): run as the user hubagent runs as, or as a member of "
                + "token_socket_group (hubagent.conf)"
        }
        let group = Users.groupName(of: entry.gid) ?? "\(entry.gid)"
        return "permission denied on \(path): \(what) is group \(group), mode \(String(entry.mode, radix: 8)), "
            + "and uid \(me) "
            + "is not in that group; fix: add this user to the group (`usermod -aG \(group) USER`, then log in again), "
            + "or give the socket a group of this user (under systemd: SocketGroup= in a drop-in for "
            + "hubagent.socket, `systemctl edit hubagent.socket`, and token_socket_group in hubagent.conf to match), "
            + "then `systemctl restart hubagent.socket hubagent`"
    }
}

/// Why the daemon's socket could not be asked.
struct SocketFailure: Error, CustomStringConvertible {
    let description: String
    /// This user may not use the socket (EACCES).
    var permissionDenied = false
    /// Nothing listens there (ENOENT, ECONNREFUSED).
    var unreachable = false

    init(_ description: String, permissionDenied: Bool = false, unreachable: Bool = false) {
        self.description = description
        self.permissionDenied = permissionDenied
        self.unreachable = unreachable
    }
}
