import XCTest

@testable import Agent
@testable import Southgate

/// Inputs the fuzz campaign (Tests/Fuzz) found, kept as plain unit tests.
final class FuzzRegressionBoardingTests: XCTestCase {
    private func boarding(baseURL: String = Fixture.baseURL, tenant: String = Fixture.tenant) throws -> [UInt8] {
        Array(Fixture.boardingJSON(iat: try Fixture.iat(exp: 1_800_604_800), tenant: tenant, baseURL: baseURL).utf8)
    }

    private func expectRefused(_ bytes: [UInt8], _ message: String, file: StaticString = #filePath, line: UInt = #line)
    {
        XCTAssertThrowsError(try BoardingConfiguration.parse(bytes, file: "boarding.json"), file: file, line: line) {
            error in
            XCTAssertEqual((error as? ConfigurationError)?.message, message, file: file, line: line)
        }
    }

    /// GIVEN a base URL with DEL (found: `https://southgate.e\u{7F}ample.test`), a line break
    /// written as a JSON escape, a tab or a C1 control WHEN parsed THEN refused: the URL goes into
    /// log lines and to libcurl; the message shows each control character as `?`.
    func testBaseURLWithControlCharacterIsRefused() throws {
        // (as written in the JSON file, as the error shows it)
        for (written, url) in [
            ("https://southgate.e\u{7F}ample.test", "https://southgate.e?ample.test"),
            (#"https://southgate.example.test\n"#, "https://southgate.example.test?"),
            (#"https://southgate.example.test/\tx"#, "https://southgate.example.test/?x"),
            ("https://southgate.example.test/\u{85}", "https://southgate.example.test/?"),
        ] {
            expectRefused(try boarding(baseURL: written), "content.baseUrl \"\(url)\" is not a valid URL")
        }
        XCTAssertNoThrow(
            try BoardingConfiguration.parse(
                try boarding(baseURL: "https://gateway.eu1.mindsphere.io/"), file: "boarding.json"))
    }

    /// GIVEN a tenant with a line break or an escape character WHEN parsed THEN refused: it is
    /// logged and signed into the client assertion.
    func testTenantWithControlCharacterIsRefused() throws {
        for tenant in [#"castidev\nINFO forged line"#, #"casti\u001b[2Jdev"#] {
            expectRefused(try boarding(tenant: tenant), "content.tenant contains a control character")
        }
    }

    /// GIVEN a date-time whose offset is not a time of day (`+99:99`, `-24:00`, `+05:60`) WHEN
    /// parsed THEN nil; `+23:59` and `-00:00` still parse.
    func testOffsetOutOfRangeIsRefused() {
        for text in ["2019-05-23T11:42:24.000+99:99", "2019-05-23T11:42:24-24:00", "2019-05-23T11:42:24+05:60"] {
            XCTAssertNil(ISO8601.parse(text), text)
        }
        XCTAssertEqual(ISO8601.parse("2019-05-23T11:42:24+23:59"), 1_558_611_744 - 86_340)
        XCTAssertEqual(ISO8601.parse("2019-05-23T11:42:24-00:00"), 1_558_611_744)
    }
}

final class FuzzRegressionSouthgateTests: XCTestCase {
    /// GIVEN a `Date` header naming a day its month does not have (found: 31 November) WHEN a
    /// response carries it THEN no server time is read from it, rather than 1 December.
    func testDateOfAMissingDayGivesNoServerTime() {
        XCTAssertNil(HTTPDate.parseIMFFixdate("Sat, 31 Nov 2026 04:45:55 GMT"))
        XCTAssertNil(HTTPDate.parseIMFFixdate("Sun, 29 Feb 2026 00:00:00 GMT"))
        XCTAssertEqual(HTTPDate.parseIMFFixdate("Thu, 29 Feb 2024 00:00:00 GMT"), 1_709_164_800)
        XCTAssertEqual(HTTPDate.parseIMFFixdate("Tue, 01 Dec 2026 04:45:55 GMT"), 1_796_100_355)

        let transport = RecordingTransport(
            .success(
                HTTPResponse(
                    status: 400, headers: ["date": "Sat, 31 Nov 2026 04:45:55 GMT"],
                    body: Array(#"{"error":"invalid_client"}"#.utf8))))
        let client = SouthgateClient(baseURL: "https://southgate.example.test", transport: transport)
        XCTAssertThrowsError(try client.token(clientAssertion: "a.b.c")) { error in
            XCTAssertEqual((error as? SouthgateError)?.kind, .badRequest)
            XCTAssertNil((error as? SouthgateError)?.serverTime)
        }
    }
}
