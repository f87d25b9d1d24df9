import Platform

/// The token socket's request parser. An accepted request has a well-formed request line and a
/// short visible-ASCII path; the answer for a prefix never contradicts the answer for the whole.
func fuzzLocalHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let result = LocalHTTPRequest.parse(bytes)
    let terminator: [UInt8] = [13, 10, 13, 10]
    let headEnd = bytes.firstRange(of: terminator)?.lowerBound
    switch result {
    case .incomplete:
        require(
            headEnd == nil && bytes.count <= LocalHTTPRequest.maximumHeadBytes,
            "incomplete, yet the head ended or is too long")
    case .malformed, .refused, .awaitingBody:
        // Without a body allowed, a request with a length is refused before it is awaited.
        if case .awaitingBody = result { fail("awaiting a body with maximumBody 0") }
    case .request(let request):
        guard let headEnd else { return fail("a request without the end of its head") }
        require(headEnd <= LocalHTTPRequest.maximumHeadBytes, "head of \(headEnd) bytes accepted")
        require(
            !request.method.isEmpty && request.method.utf8.allSatisfy { (65...90).contains($0) },
            "method \(request.method.debugDescription)")
        require(request.path.hasPrefix("/") && request.path.utf8.count <= 256, "path \(request.path.debugDescription)")
        // The path is logged and matched: visible ASCII only (RFC 9112 request-target).
        require(
            request.path.utf8.allSatisfy { (0x21...0x7E).contains($0) },
            "path with a control or non-ASCII byte: \(request.path.debugDescription)")
        let line = Array("\(request.method) \(request.path) HTTP/1.".utf8)
        require(
            bytes.starts(with: line),
            "request line does not start with \(String(decoding: line, as: UTF8.self).debugDescription)")
        // What follows the head (a body, the next request) does not change the answer.
        require(
            LocalHTTPRequest.parse(bytes + Array("XYZ\r\n\r\n".utf8)) == result,
            "bytes after the head changed the result")
    }
    // The socket parses what arrived so far: a prefix is never accepted as a different request.
    if !bytes.isEmpty {
        let cut = Int(bytes[0]) % bytes.count
        if case .request(let early) = LocalHTTPRequest.parse(Array(bytes[..<cut])) {
            require(result == .request(early), "prefix of \(cut) bytes is \(early), the whole input \(result)")
        }
    }
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

func fail(_ message: String) -> CInt {
    fatalError("invariant violated: \(message)")
}
