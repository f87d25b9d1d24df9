import Agent
import Glibc
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
        let options: Options
        do {
            options = try Options(arguments, valued: ["runtime-dir", "state-dir", "config-dir"], switches: [])
        } catch {
            Output.error("hubagent token: \(error); see `hubagent help token`")
            return ExitCode.usage
        }
        let path = options.layout(environment: ProcessEnvironment.current).tokenSocket
        switch request(path: path, target: "/token") {
        case .failure(let failure):
            Output.error("hubagent token: \(failure)")
            return ExitCode.failure
        case .success(let (status, body)):
            let json = try? JSONValue.parse(body)
            guard status == 200, let token = json?["access_token"]?.stringValue else {
                Output.error("hubagent token: \(json?["error"]?.stringValue ?? "the daemon answered \(status)")")
                return ExitCode.failure
            }
            Output.line(token)
            return ExitCode.ok
        }
    }

    /// One GET over the Unix socket; the status and the body.
    static func request(path: String, target: String) -> Result<(Int, [UInt8]), SocketFailure> {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(SocketFailure("socket: \(SystemError.message(for: errno))")) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return .failure(SocketFailure("\(path): path too long")) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            return .failure(SocketFailure("cannot reach the daemon at \(path): \(SystemError.message(for: errno)) (is hubagent running? see `hubagent status`)"))
        }
        var timeout = timeval(tv_sec: 35, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(target) HTTP/1.1\r\nHost: hubagent\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            return .failure(SocketFailure("sending to \(path): \(SystemError.message(for: errno))"))
        }
        let response: [UInt8]
        do {
            response = try Syscall.readAll(fd, limit: Layout.Limit.tokenSocketAnswer, subject: path)
        } catch {
            return .failure(SocketFailure("reading from \(path): \(error)"))
        }
        guard let split = response.firstRange(of: [13, 10, 13, 10]),
              let head = String(validating: response[..<split.lowerBound], as: UTF8.self),
              let status = head.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            return .failure(SocketFailure("the daemon's answer is not HTTP"))
        }
        return .success((status, Array(response[split.upperBound...])))
    }
}

/// Why the daemon's socket could not be asked.
struct SocketFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
