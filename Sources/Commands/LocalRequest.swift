import Platform

/// One HTTP/1.1 exchange with the daemon over one of its Unix sockets (token.sock, data.sock).
struct LocalRequest {
    var method = "GET"
    var target: String
    var contentType: String?
    var body: [UInt8] = []
    /// What to suggest when nothing listens.
    var unreachableHint = "is hubagent running? see `hubagent status`"

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    func perform(path: String, timeout: Int, limit: Int) -> Result<Answer, SocketFailure> {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: hubagent\r\nConnection: close\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        if method != "GET" { head += "Content-Length: \(body.count)\r\n" }
        let response: [UInt8]
        do {
            response = try UnixSocketClient.exchange(
                path: path, request: Array((head + "\r\n").utf8) + body, timeout: timeout, limit: limit)
        } catch {
            switch error {
            case .connect(let cause) where cause.isPermissionDenied:
                return .failure(SocketFailure(TokenCommand.permissionDenied(path), permissionDenied: true))
            case .connect(let cause):
                return .failure(
                    SocketFailure(
                        "cannot reach the daemon at \(path): \(SystemError.message(for: cause.errno)) "
                            + "(\(unreachableHint))", unreachable: true))
            case .send(let cause):
                return .failure(SocketFailure("sending to \(path): \(SystemError.message(for: cause.errno))"))
            case .receive(let cause):
                return .failure(SocketFailure("reading from \(path): \(cause)"))
            }
        }
        guard let split = response.firstRange(of: [13, 10, 13, 10]),
            let head = String(validating: response[..<split.lowerBound], as: UTF8.self)
        else {
            return .failure(SocketFailure("the daemon's answer is not HTTP"))
        }
        let lines = head.split(separator: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            return .failure(SocketFailure("the daemon's answer is not HTTP"))
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        return .success(Answer(status: status, headers: headers, body: Array(response[split.upperBound...])))
    }
}
