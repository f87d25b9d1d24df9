import XCTest

@testable import Crypto

final class ClientAssertionTests: XCTestCase {
    private let clientID = "5d06988ac50a44758ed0d9bff9edc4a0"
    private let jti = "3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17"

    private var expectedPayload: String {
        #"{"iss":"5d06988ac50a44758ed0d9bff9edc4a0","sub":"5d06988ac50a44758ed0d9bff9edc4a0","#
            + #""aud":["southgate"],"iat":1700000000,"nbf":1700000000,"exp":1700000300,"#
            + #""schemas":["urn:siemens:mindsphere:v1"],"ten":"castidev","#
            + #""jti":"3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17"}"#
    }

    /// GIVEN SHARED_SECRET credentials WHEN an assertion is made THEN header and payload bytes are
    /// exactly MCL's layout with `aud` as an array and a 300 s lifetime, segments are unpadded, and
    /// the MAC verifies with the secret but not with another.
    func testHS256() throws {
        let secret = SecretBytes(ProtocolVector.clientSecret)
        let token = try ClientAssertion.make(
            clientID: clientID, tenant: "castidev", issuedAt: 1_700_000_000, jti: jti, signer: .hs256(key: secret))
        XCTAssertFalse(token.contains("="))
        let parsed = try JWS.parse(token)
        XCTAssertEqual(String(decoding: parsed.headerJSON, as: UTF8.self), #"{"typ":"JWT","alg":"HS256"}"#)
        XCTAssertEqual(String(decoding: parsed.payloadJSON, as: UTF8.self), expectedPayload)
        XCTAssertTrue(parsed.isValidHS256(key: secret))
        XCTAssertFalse(parsed.isValidHS256(key: SecretBytes(ProtocolVector.clientSecret + "x")))
    }

    /// GIVEN an assertion WHEN its claims are decoded THEN every claim has the expected value.
    func testClaims() throws {
        let token = try ClientAssertion.make(
            clientID: clientID, tenant: "castidev", issuedAt: 1_700_000_000, lifetime: 600, jti: jti,
            signer: .hs256(key: SecretBytes("s")))
        let claims = try JWT.unverifiedClaims(of: token)
        XCTAssertEqual(
            claims,
            JWT.Claims(
                iss: clientID, sub: clientID, aud: ["southgate"], iat: 1_700_000_000, nbf: 1_700_000_000,
                exp: 1_700_000_600, jti: jti, ten: "castidev", schemas: ["urn:siemens:mindsphere:v1"]))
    }

    /// GIVEN RSA_3072 credentials WHEN an assertion is made THEN the header is MCL's RS256 header,
    /// the payload is the same, and the signature verifies with the public key.
    func testRS256() throws {
        let key = try SharedTestKey.get()
        let token = try ClientAssertion.make(
            clientID: clientID, tenant: "castidev", issuedAt: 1_700_000_000, jti: jti, signer: .rs256(key))
        XCTAssertFalse(token.contains("="))
        let parsed = try JWS.parse(token)
        XCTAssertEqual(String(decoding: parsed.headerJSON, as: UTF8.self), #"{"typ":"JWT","alg":"RS256"}"#)
        XCTAssertEqual(String(decoding: parsed.payloadJSON, as: UTF8.self), expectedPayload)
        XCTAssertEqual(parsed.signature.count, 384)
        XCTAssertTrue(parsed.isValidRS256(publicKey: key.publicKey))
    }

    /// GIVEN ids containing quotes and backslashes WHEN an assertion is made THEN the payload is
    /// still valid JSON and the values come back unchanged.
    func testEscapesStrings() throws {
        let token = try ClientAssertion.make(
            clientID: #"a"b\c"#, tenant: "t\n", issuedAt: 1, jti: "j", signer: .hs256(key: SecretBytes("s")))
        let claims = try JWT.unverifiedClaims(of: token)
        XCTAssertEqual(claims.iss, #"a"b\c"#)
        XCTAssertEqual(claims.ten, "t\n")
    }

    /// GIVEN a zero lifetime, a negative time or an empty client id WHEN making an assertion THEN
    /// invalidArgument.
    func testRejectsBadArguments() {
        let signer = JWS.Signer.hs256(key: SecretBytes("s"))
        let calls: [() throws -> String] = [
            {
                try ClientAssertion.make(clientID: "c", tenant: "t", issuedAt: 1, lifetime: 0, jti: "j", signer: signer)
            },
            { try ClientAssertion.make(clientID: "c", tenant: "t", issuedAt: -1, jti: "j", signer: signer) },
            { try ClientAssertion.make(clientID: "", tenant: "t", issuedAt: 1, jti: "j", signer: signer) },
        ]
        for call in calls {
            XCTAssertThrowsError(try call()) { error in
                guard case .invalidArgument = error as? CryptoError else { return XCTFail("\(error)") }
            }
        }
    }
}
