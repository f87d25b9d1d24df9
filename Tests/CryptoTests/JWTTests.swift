import XCTest

@testable import Crypto

final class JWTTests: XCTestCase {
    private func token(payload: String) throws -> String {
        try JWS.sign(
            header: Array(#"{"alg":"HS256"}"#.utf8), payload: Array(payload.utf8), with: .hs256(key: SecretBytes("k")))
    }

    private func expectMalformed(_ token: String, line: UInt = #line) {
        XCTAssertThrowsError(try JWT.unverifiedClaims(of: token), line: line) { error in
            guard case .malformedToken = error as? CryptoError else { return XCTFail("\(error)", line: line) }
        }
    }

    /// GIVEN the access-token claims of docs/protocol.md §6.4 WHEN read THEN exp, iat, sub, ten, aud and
    /// scope are there and unknown claims are ignored.
    func testAccessTokenClaims() throws {
        let payload =
            #"{"jti":"f7a4888b","scope":["mdsp:core:DefaultAgent"],"#
            + #""iss":"https://southgate.eu1.mindsphere.io/api/agentmanagement/","#
            + #""sub":"a3ac5ae889544717b02fa8282a30d1b4","zid":"agentiam","aud":["southgate"],"#
            + #""iat":1554152249,"exp":1554155849,"schemas":["urn:siemens:mindsphere:iam:v1"],"#
            + #""ten":"castidev","ten_ctx":"main-tenant","cat":"agent-token:v1","grant_type":"client_credentials"}"#
        let claims = try JWT.unverifiedClaims(of: try token(payload: payload))
        XCTAssertEqual(claims.exp, 1_554_155_849)
        XCTAssertEqual(claims.iat, 1_554_152_249)
        XCTAssertEqual(claims.sub, "a3ac5ae889544717b02fa8282a30d1b4")
        XCTAssertEqual(claims.ten, "castidev")
        XCTAssertEqual(claims.aud, ["southgate"])
        XCTAssertEqual(claims.scope, ["mdsp:core:DefaultAgent"])
        XCTAssertNil(claims.nbf)
    }

    /// GIVEN `aud` as a string and NumericDates as doubles WHEN read THEN an array and whole
    /// seconds rounded down.
    func testStringAudienceAndDoubleDates() throws {
        let claims = try JWT.unverifiedClaims(
            of: try token(payload: #"{"aud":"southgate","exp":1700086400.9,"iat":1.7e9}"#))
        XCTAssertEqual(claims.aud, ["southgate"])
        XCTAssertEqual(claims.exp, 1_700_086_400)
        XCTAssertEqual(claims.iat, 1_700_000_000)
    }

    /// GIVEN the padded MCL token of docs/protocol.md §6.2 WHEN read THEN its claims decode.
    func testPaddedToken() throws {
        XCTAssertEqual(try JWT.unverifiedClaims(of: ProtocolVector.mclPadded).exp, 1_700_086_400)
    }

    /// GIVEN a one-segment token WHEN read THEN malformedToken.
    func testRejectsOneSegment() {
        expectMalformed("eyJhbGciOiJIUzI1NiJ9")
    }

    /// GIVEN a payload segment that is not base64url WHEN read THEN malformedToken.
    func testRejectsBadBase64() {
        expectMalformed("eyJhbGciOiJIUzI1NiJ9.e30*.AAAA")
    }

    /// GIVEN a payload that is not JSON, or not an object WHEN read THEN malformedToken.
    func testRejectsNonJSONPayload() throws {
        expectMalformed(try token(payload: "not json"))
        expectMalformed(try token(payload: "[1,2]"))
    }

    /// GIVEN an `exp` that is a string WHEN read THEN malformedToken rather than a missing claim.
    func testRejectsWronglyTypedClaim() throws {
        expectMalformed(try token(payload: #"{"exp":"tomorrow"}"#))
        expectMalformed(try token(payload: #"{"exp":1e300}"#))
    }
}
