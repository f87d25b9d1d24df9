/// An HTTP/1.1 request on a local socket (the token socket, the relay's data socket), parsed
/// strictly and bounded: the socket is open to every program in its group, so a malformed or
/// oversized request gets a 400 or 413 and nothing else (docs/design.md §8). A body is read only
/// with a `Content-Length` within the server's limit; chunked bodies get 411.
public struct LocalHTTPRequest: Equatable, Sendable {
    public var method: String
    public var path: String
    /// Header fields by lower-cased name (a repeated field is malformed).
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    public static let maximumHeadBytes = 8192

    public enum Parse: Equatable, Sendable {
        case incomplete
        /// The head is in; `total` bytes make the whole request. `expectsContinue`: the client
        /// waits for `100 Continue` before sending the body (curl does above 1 KiB).
        case awaitingBody(total: Int, expectsContinue: Bool)
        case request(LocalHTTPRequest)
        case malformed(String)
        /// A body over `maximumBody`, or one without a length: answered with `status` and closed.
        case refused(status: Int, reason: String)
    }

    /// Parses what arrived so far. `maximumBody` 0: only requests without a body are taken.
    public static func parse(_ bytes: [UInt8], maximumBody: Int = 0) -> Parse {
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.firstRange(of: terminator)?.lowerBound else {
            return bytes.count > maximumHeadBytes
                ? .malformed("request head larger than \(maximumHeadBytes) bytes") : .incomplete
        }
        guard end <= maximumHeadBytes else { return .malformed("request head larger than \(maximumHeadBytes) bytes") }
        guard let head = String(validating: bytes[..<end], as: UTF8.self) else {
            return .malformed("request head is not UTF-8")
        }
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let parts = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else {
            return .malformed("request line is not `METHOD /path HTTP/1.1`")
        }
        let method = String(parts[0])
        let path = String(parts[1])
        guard !method.isEmpty, method.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            return .malformed("bad method")
        }
        // Visible ASCII only (RFC 9112 request-target): the path is written to the journal, where
        // a NUL or an escape sequence would forge or garble the line.
        guard path.hasPrefix("/"), path.utf8.count <= 256, path.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return .malformed("bad path")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                !line[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else {
                return .malformed("bad header line")
            }
            let name = line[..<colon].lowercased()
            var value = line[line.index(after: colon)...]
            while value.first == " " || value.first == "\t" { value = value.dropFirst() }
            while value.last == " " || value.last == "\t" { value = value.dropLast() }
            guard headers.updateValue(String(value), forKey: name) == nil else {
                return .malformed("header \(name) repeated")
            }
        }
        var request = LocalHTTPRequest(method: method, path: path, headers: headers)
        if headers["transfer-encoding"] != nil {
            return .refused(status: 411, reason: "send the body with a Content-Length, not chunked")
        }
        guard let lengthText = headers["content-length"] else { return .request(request) }
        guard !lengthText.isEmpty, lengthText.utf8.count <= 12, lengthText.utf8.allSatisfy({ (48...57).contains($0) }),
            let length = Int(lengthText)
        else {
            return .malformed("bad Content-Length")
        }
        guard length <= maximumBody else {
            return .refused(status: 413, reason: "request body larger than \(maximumBody) bytes")
        }
        let bodyStart = end + terminator.count
        guard bytes.count >= bodyStart + length else {
            let expectsContinue = headers["expect"]?.lowercased() == "100-continue"
            return .awaitingBody(total: bodyStart + length, expectsContinue: expectsContinue)
        }
        request.body = Array(bytes[bodyStart..<(bodyStart + length)])
        return .request(request)
    }

    /// A complete response that closes the connection.
    public static func response(
        status: Int, reason: String, json: String, headers: [(name: String, value: String)] = []
    ) -> [UInt8] {
        let body = Array(json.utf8)
        var head =
            "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: "
            + "\(body.count)\r\nCache-Control: no-store\r\nConnection: close\r\n"
        for header in headers { head += "\(header.name): \(header.value)\r\n" }
        return Array((head + "\r\n").utf8) + body
    }
}
