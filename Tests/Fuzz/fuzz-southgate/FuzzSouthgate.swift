import Crypto
import JSON
import Southgate

/// The southgate client's handling of responses. The input is one response, fed through a fake
/// transport into one of the calls:
///
///     <operation byte><status>\n<name>: <value>\n…\n\n<body>
///
/// Checks the status mapping, that only the documented status succeeds, that Server-Time, Date
/// and Retry-After give plausible numbers, and that credentials in a 2xx body never reach an error.
func fuzzSouthgate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let operation = bytes.first else { return 0 }
    let response = decodeResponse(bytes.dropFirst())
    let client = SouthgateClient(
        baseURL: "https://southgate.example.test/", transport: FixedTransport(response: response))
    let jwk = JWK(
        e: "AQAB", n: "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDX", kid: "k1")
    let rotateURI = "https://southgate.example.test/api/agentmanagement/v3/register/abc"
    do {
        switch operation % 6 {
        case 0:
            let exchange = try client.register(initialAccessToken: "iat", publicKey: nil)
            checkIdentifier(exchange.value, requireSecret: true)
            checkSuccess(response, expect: 201, serverTime: exchange.serverTime)
        case 1:
            let exchange = try client.register(initialAccessToken: "iat", publicKey: jwk)
            checkIdentifier(exchange.value, requireSecret: false)
            checkSuccess(response, expect: 201, serverTime: exchange.serverTime)
        case 2:
            let exchange = try client.rotate(
                registrationClientURI: rotateURI, registrationAccessToken: "rat", clientID: "abc", publicKey: nil)
            checkIdentifier(exchange.value, requireSecret: true)
            checkSuccess(response, expect: 200, serverTime: exchange.serverTime)
        case 3:
            let exchange = try client.token(clientAssertion: "a.b.c")
            require(
                !exchange.value.accessToken.isEmpty && exchange.value.expiresIn > 0,
                "token grant \(exchange.value.expiresIn)")
            checkSuccess(response, expect: 200, serverTime: exchange.serverTime)
        case 4:
            let exchange = try client.dataSourceConfiguration(agentID: "abc", accessToken: "token")
            _ = exchange.value.eTag
            checkSuccess(response, expect: 200, serverTime: exchange.serverTime)
        default:
            let exchange = try client.putDataSourceConfiguration(
                agentID: "abc", accessToken: "token", body: .object([]), ifMatch: "0")
            checkSuccess(response, expect: 200, serverTime: exchange.serverTime)
        }
    } catch {
        checkError(error, response, expect: operation % 6 <= 1 ? 201 : 200)
    }
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

struct FixedTransport: Transport {
    let response: HTTPResponse
    func perform(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse { response }
}

/// Header names lower-cased and values trimmed, as CurlTransport hands them over.
func decodeResponse(_ bytes: ArraySlice<UInt8>) -> HTTPResponse {
    let separator: [UInt8] = [10, 10]
    let headEnd = bytes.firstRange(of: separator)
    let head = String(decoding: bytes[..<(headEnd?.lowerBound ?? bytes.endIndex)], as: UTF8.self)
    let body = headEnd.map { Array(bytes[$0.upperBound...]) } ?? []
    let lines = head.split(separator: "\n", omittingEmptySubsequences: false)
    let status = Int(lines.first ?? "") ?? 200
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...]).trimmingCharacters(" \t\r")
    }
    return HTTPResponse(status: status, headers: headers, body: body)
}

extension String {
    func trimmingCharacters(_ set: String) -> String {
        let scalars = unicodeScalars.drop { set.unicodeScalars.contains($0) }
        var text = String(String.UnicodeScalarView(scalars))
        while let last = text.unicodeScalars.last, set.unicodeScalars.contains(last) {
            text.unicodeScalars.removeLast()
        }
        return text
    }
}

let plausibleServerTime = 946_684_800.0...32_503_680_000.0

func checkIdentifier(_ identifier: ClientIdentifier, requireSecret: Bool) {
    require(
        !identifier.clientID.isEmpty && !identifier.registrationAccessToken.isEmpty, "empty client id or RAT accepted")
    require(
        identifier.registrationClientURI.hasPrefix("https://"), "registration URI \(identifier.registrationClientURI)")
    require(!requireSecret || !(identifier.clientSecret ?? "").isEmpty, "missing client secret accepted")
    require(
        identifier.clientSecretExpiresAt.map { $0 > 0 } ?? true,
        "secret expiry \(String(describing: identifier.clientSecretExpiresAt))")
}

func checkSuccess(_ response: HTTPResponse, expect: Int, serverTime: Double?) {
    require(response.status == expect, "status \(response.status) accepted where \(expect) is documented")
    require(
        serverTime.map { plausibleServerTime.contains($0) } ?? true, "server time \(String(describing: serverTime))")
    checkDate(response, serverTime)
}

/// A server time read from `Date` names a real calendar day (no 31 February).
func checkDate(_ response: HTTPResponse, _ serverTime: Double?) {
    guard let serverTime, response.headers["server-time"] == nil, let date = response.headers["date"] else { return }
    let parts = date.split(separator: " ")
    guard parts.count == 6, let day = Int(parts[1]) else { return }
    let days = Int(serverTime) / 86400
    let (_, _, civilDay) = civilDate(days)
    require(civilDay == day, "Date \(date.debugDescription) read as day \(civilDay) of its month")
}

/// Howard Hinnant's civil_from_days, for days after 1970.
func civilDate(_ days: Int) -> (Int, Int, Int) {
    let z = days + 719_468
    let era = z / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
}

func checkError(_ error: SouthgateError, _ response: HTTPResponse, expect: Int) {
    let description = error.description
    require(error.status == response.status, "error status \(String(describing: error.status)) for \(response.status)")
    require(
        error.serverTime.map { plausibleServerTime.contains($0) } ?? true,
        "server time \(String(describing: error.serverTime))")
    checkDate(response, error.serverTime)
    if let retryAfter = error.retryAfter {
        require(retryAfter >= 0 && retryAfter <= 3600, "retry after \(retryAfter)")
        require(response.headers["retry-after"] != nil, "retry after without the header")
    }
    if let message = error.serverMessage {
        require(!(200..<300).contains(response.status), "server message from a \(response.status) body")
        require(message.count <= 301, "server message of \(message.count) characters")
    }
    if response.status == expect {
        guard case .invalidResponse = error.kind else {
            return require(false, "status \(expect) refused as \(error.kind)")
        }
    } else {
        let expected: SouthgateError.Kind =
            switch response.status {
            case 400: .badRequest
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 412: .preconditionFailed
            case 429: .rateLimited
            case 500...599: .serverError
            default: .unexpectedStatus
            }
        require(error.kind == expected, "status \(response.status) mapped to \(error.kind)")
        require(error.retryAfter == nil || response.headers["retry-after"] != nil, "retry after invented")
    }
    _ = error.isRetryable
    // Credentials in a successful body are never quoted in an error (which ends up in logs).
    guard (200..<300).contains(response.status), let json = try? JSONValue.parse(response.body) else { return }
    for name in ["client_secret", "registration_access_token", "access_token"] {
        guard let secret = json[name]?.stringValue, secret.count >= 16, secret.contains(where: \.isNumber) else {
            continue
        }
        require(!description.contains(secret), "\(name) leaked into the error: \(description)")
    }
}
