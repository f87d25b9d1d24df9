/// The head of an HTTP/1.1 request on the local token socket, parsed strictly and bounded: the
/// socket is open to every program in its group, so a malformed or oversized request gets a
/// 400 and nothing else (docs/design.md §8).
public struct LocalHTTPRequest: Equatable, Sendable {
    public var method: String
    public var path: String

    public static let maximumHeadBytes = 8192

    public enum Parse: Equatable, Sendable {
        case incomplete
        case request(LocalHTTPRequest)
        case malformed(String)
    }

    /// Parses what arrived so far; a body, if any, is ignored (GET only).
    public static func parse(_ bytes: [UInt8]) -> Parse {
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
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                !line[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else {
                return .malformed("bad header line")
            }
        }
        return .request(LocalHTTPRequest(method: method, path: path))
    }

    /// A complete response that closes the connection.
    public static func response(status: Int, reason: String, json: String) -> [UInt8] {
        let body = Array(json.utf8)
        let head =
            "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: "
            + "\(body.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}
