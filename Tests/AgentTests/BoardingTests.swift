import XCTest

@testable import Agent

final class BoardingTests: XCTestCase {
    private let path = "/etc/hubagent/boarding.json"
    private var iat = ""

    override func setUpWithError() throws {
        iat = try Fixture.iat(exp: 1_800_604_800)
    }

    private func parse(_ text: String) throws -> BoardingConfiguration {
        try BoardingConfiguration.parse(Array(text.utf8), file: path)
    }

    /// Asserts that `text` is refused with exactly `message` (and `fix`, when given).
    private func expectRefused(
        _ text: String, _ message: String, fix: String? = nil, line: Int? = nil, column: Int? = nil,
        file: StaticString = #filePath, testLine: UInt = #line
    ) {
        XCTAssertThrowsError(try parse(text), file: file, line: testLine) { error in
            guard let error = error as? ConfigurationError else {
                return XCTFail("\(error)", file: file, line: testLine)
            }
            XCTAssertEqual(error.message, message, file: file, line: testLine)
            XCTAssertEqual(error.file, self.path, file: file, line: testLine)
            if let fix { XCTAssertEqual(error.fix, fix, file: file, line: testLine) }
            XCTAssertEqual(error.line, line, file: file, line: testLine)
            XCTAssertEqual(error.column, column, file: file, line: testLine)
        }
    }

    /// The content members of a good file, in Asset Manager's order, for building variants.
    private func content(_ replacing: [String: String?] = [:]) -> String {
        let members: [(String, String)] = [
            ("baseUrl", "\"\(Fixture.baseURL)\""), ("iat", "\"\(iat)\""),
            ("clientCredentialProfile", "[\"SHARED_SECRET\"]"),
            ("clientId", "\"\(Fixture.clientID)\""), ("tenant", "\"\(Fixture.tenant)\""),
        ]
        let kept = members.compactMap { name, value -> String? in
            if let replaced = replacing[name] { return replaced.map { "\"\(name)\": \($0)" } }
            return "\"\(name)\": \(value)"
        }
        return "{\"content\": {\(kept.joined(separator: ", "))}, \"expiration\": \"2027-01-22T08:00:00.000Z\"}"
    }

    /// GIVEN a boarding file as downloaded WHEN parsed THEN every field is read, the IAT's `exp` too.
    func testGoodFileParses() throws {
        let boarding = try parse(Fixture.boardingJSON(iat: iat))
        XCTAssertEqual(boarding.baseURL, Fixture.baseURL)
        XCTAssertEqual(boarding.initialAccessToken.exposed, iat)
        XCTAssertEqual(boarding.profile, .sharedSecret)
        XCTAssertEqual(boarding.clientID, Fixture.clientID)
        XCTAssertEqual(boarding.tenant, Fixture.tenant)
        XCTAssertEqual(boarding.expiration, 1_800_604_800)
        XCTAssertEqual(boarding.initialAccessTokenExpiry, 1_800_604_800)
        XCTAssertEqual(boarding.fingerprint.count, 64)
        XCTAssertTrue(boarding.fingerprint.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    /// GIVEN an RSA_3072 file WHEN parsed THEN the profile is RSA_3072; and the earlier of `expiration` and IAT `exp`
    /// is `expiresAt`.
    func testRSAProfileAndExpiresAt() throws {
        let text = Fixture.boardingJSON(
            iat: try Fixture.iat(exp: 1_800_000_100), profile: #"["RSA_3072"]"#, expiration: "2027-01-22T08:00:00Z")
        let boarding = try parse(text)
        XCTAssertEqual(boarding.profile, .rsa3072)
        XCTAssertEqual(boarding.expiresAt, 1_800_000_100)
        XCTAssertNil(try parse(Fixture.boardingJSON(iat: try Fixture.iat(exp: nil), expiration: nil)).expiresAt)
    }

    /// GIVEN the same content with other whitespace, member order and `expiration` WHEN parsed THEN the fingerprint is
    /// the same; another IAT changes it.
    func testFingerprintIdentifiesContent() throws {
        let original = try parse(Fixture.boardingJSON(iat: iat))
        let reordered = """
            {"expiration":null,"content":{"tenant":"\(Fixture.tenant)","clientId":"\(Fixture.clientID)",
                "clientCredentialProfile":"SHARED_SECRET","iat":"\(iat)",   "baseUrl":"\(Fixture.baseURL)"}}
            """
        XCTAssertEqual(try parse(reordered).fingerprint, original.fingerprint)
        let otherIAT = try parse(Fixture.boardingJSON(iat: try Fixture.iat(exp: 1_800_604_800, jti: "iat-2")))
        XCTAssertNotEqual(otherIAT.fingerprint, original.fingerprint)
    }

    /// GIVEN `clientCredentialProfile` as a bare string WHEN parsed THEN accepted.
    func testProfileAsStringAccepted() throws {
        XCTAssertEqual(try parse(content(["clientCredentialProfile": "\"RSA_3072\""])).profile, .rsa3072)
    }

    /// GIVEN malformed JSON WHEN parsed THEN the error has the line and column of the fault.
    func testMalformedJSONHasLineAndColumn() {
        let text = "{\n  \"content\": {\n    \"baseUrl\": https\n  }\n}\n"
        expectRefused(
            text, "unexpected character 'h'; expected a value",
            fix: "download the boarding configuration again from Asset Manager", line: 3, column: 16)
    }

    /// GIVEN each structurally wrong file WHEN parsed THEN refused with its exact message.
    func testBadFilesEachWithItsMessage() {
        let cases: [(String, String, StaticString, UInt)] = [
            ("[]", "the boarding configuration must be a JSON object with a \"content\" member", #filePath, #line),
            ("{\"expiration\": \"2027-01-22T08:00:00Z\"}", "missing field content", #filePath, #line),
            ("{\"content\": \"x\"}", "missing field content", #filePath, #line),
            (content(["baseUrl": nil]), "missing field content.baseUrl", #filePath, #line),
            (content(["iat": nil]), "missing field content.iat", #filePath, #line),
            (content(["clientId": nil]), "missing field content.clientId", #filePath, #line),
            (content(["tenant": nil]), "missing field content.tenant", #filePath, #line),
            (
                content(["clientCredentialProfile": nil]), "missing field content.clientCredentialProfile", #filePath,
                #line
            ),
            (content(["iat": "\"\""]), "content.iat is empty", #filePath, #line),
            (content(["tenant": "\"\""]), "content.tenant is empty", #filePath, #line),
            (content(["clientId": "\"\""]), "content.clientId is empty", #filePath, #line),
            (content(["baseUrl": "\"\""]), "content.baseUrl is empty", #filePath, #line),
            (content(["tenant": "7"]), "content.tenant must be a string", #filePath, #line),
            (content(["clientCredentialProfile": "[]"]), "content.clientCredentialProfile is empty", #filePath, #line),
            (
                content(["clientCredentialProfile": "{}"]),
                "content.clientCredentialProfile must be an array of strings", #filePath, #line
            ),
            (
                content(["clientId": "\"\(String(repeating: "a", count: 37))\""]),
                "content.clientId is longer than 36 characters", #filePath, #line
            ),
            (
                content(["tenant": "\"\(String(repeating: "t", count: 37))\""]),
                "content.tenant is longer than 36 characters", #filePath, #line
            ),
            (
                content(["clientId": "\"a/b\""]),
                "content.clientId contains characters other than letters, digits, '-' and '_'", #filePath, #line
            ),
            (content(["iat": "\"not-a-jwt\""]), "content.iat is not a JWT", #filePath, #line),
            (content(["iat": "\"a.b.c\""]), "content.iat is not a JWT", #filePath, #line),
        ]
        for (text, message, file, line) in cases {
            expectRefused(text, message, file: file, testLine: line)
        }
    }

    /// GIVEN a client id of exactly 36 characters (a dashed UUID) WHEN parsed THEN accepted.
    func testClientIdOf36CharactersAccepted() throws {
        XCTAssertEqual(try parse(content(["clientId": "\"3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17\""])).clientID.count, 36)
    }

    /// GIVEN an unknown profile WHEN parsed THEN refused naming it, with the fix in Asset Manager.
    func testUnknownProfile() {
        expectRefused(
            content(["clientCredentialProfile": "[\"NATIVE_CA_CERTIFIED_X509\"]"]),
            "unknown credential profile \"NATIVE_CA_CERTIFIED_X509\"; hubagent supports SHARED_SECRET and RSA_3072",
            fix: "create the agent in Asset Manager with the SHARED_SECRET or RSA_3072 security profile")
    }

    /// GIVEN an http:// or otherwise bad base URL WHEN parsed THEN refused: credentials only go over TLS.
    func testBaseURLMustBeHTTPS() {
        expectRefused(
            content(["baseUrl": "\"http://southgate.example.test\""]),
            "content.baseUrl \"http://southgate.example.test\" is not an https:// URL",
            fix: "hubagent only talks to southgate over TLS")
        expectRefused(
            content(["baseUrl": "\"https://user@southgate.example.test\""]),
            "content.baseUrl \"https://user@southgate.example.test\" is not a valid URL")
        expectRefused(content(["baseUrl": "\"https:///api\""]), "content.baseUrl \"https:///api\" is not a valid URL")
        expectRefused(
            content(["baseUrl": "\"https://southgate.example.test/?x=1\""]),
            "content.baseUrl \"https://southgate.example.test/?x=1\" is not a valid URL")
    }

    /// GIVEN an `expiration` that is not an ISO 8601 date-time WHEN parsed THEN refused with an example of the format.
    func testBadExpirationFormat() {
        for bad in ["\"23.05.2019\"", "\"2019-05-23\"", "1558611744", "\"2019-05-23T11:42:24\""] {
            let text =
                "{\"content\": {\"baseUrl\": \"\(Fixture.baseURL)\", \"iat\": \"\(iat)\", \"clientCredentialProfile\": "
                + "[\"SHARED_SECRET\"], \"clientId\": \"abc\", \"tenant\": \"t\"}, \"expiration\": \(bad)}"
            expectRefused(text, "expiration is not a date-time such as 2026-12-05T11:42:24.000Z")
        }
    }

    /// GIVEN date-times with fractions, offsets and lower-case separators WHEN parsed THEN the right epoch seconds;
    /// malformed ones are nil.
    func testISO8601Vectors() {
        let good: [(String, Double)] = [
            ("2019-05-23T11:42:24.000Z", 1_558_611_744),
            ("2019-05-23T11:42:24Z", 1_558_611_744),
            ("2019-05-23t11:42:24z", 1_558_611_744),
            ("2019-05-23T11:42:24.5Z", 1_558_611_744.5),
            ("2019-05-23T11:42:24.125Z", 1_558_611_744.125),
            ("2019-05-23T13:42:24+02:00", 1_558_611_744),
            ("2019-05-23T06:12:24-05:30", 1_558_611_744),
            ("2019-05-23T13:42:24.250+02:00", 1_558_611_744.25),
            ("1970-01-01T00:00:00Z", 0),
            ("2024-02-29T00:00:00Z", 1_709_164_800),
            ("2038-01-19T03:14:08Z", 2_147_483_648),
        ]
        for (text, seconds) in good {
            XCTAssertEqual(ISO8601.parse(text), seconds, text)
        }
        let bad = [
            "", "2019-05-23", "2019-05-23T11:42:24", "2019-05-23 11:42:24Z", "2019-13-01T00:00:00Z",
            "2019-00-10T00:00:00Z",
            "2019-05-32T00:00:00Z", "2019-05-23T24:00:00Z", "2019-05-23T11:60:00Z", "2019-05-23T11:42:24.Z",
            "2019-05-23T11:42:24+0200", "2019-05-23T11:42:24Zjunk", "19-05-23T11:42:24Z", "2019/05/23T11:42:24Z",
            "2019-02-31T00:00:00Z", "2023-02-29T00:00:00Z",
        ]
        for text in bad {
            XCTAssertNil(ISO8601.parse(text), text)
        }
    }

    /// GIVEN a boarding file error WHEN described THEN `file:line:column: message; fix` as a compiler would.
    func testConfigurationErrorDescription() {
        let error = ConfigurationError(file: path, line: 3, column: 16, message: "bad", fix: "do this")
        XCTAssertEqual(error.description, "/etc/hubagent/boarding.json:3:16: bad; do this")
        XCTAssertEqual(ConfigurationError(file: path, message: "bad").description, "/etc/hubagent/boarding.json: bad")
    }

    /// GIVEN a parsed boarding file WHEN described or dumped THEN the IAT does not appear.
    func testIATIsRedactedInDescriptions() throws {
        let boarding = try parse(Fixture.boardingJSON(iat: iat))
        XCTAssertFalse("\(boarding)".contains(iat))
        XCTAssertFalse(String(reflecting: boarding).contains(iat))
        XCTAssertEqual("\(boarding.initialAccessToken)", "<redacted>")
    }
}
