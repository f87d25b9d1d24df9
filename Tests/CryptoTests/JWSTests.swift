import XCTest

@testable import Crypto

final class JWSTests: XCTestCase {
    private func expectMalformed(_ token: String, line: UInt = #line) {
        XCTAssertThrowsError(try JWS.parse(token), line: line) { error in
            guard case .malformedToken = error as? CryptoError else { return XCTFail("\(error)", line: line) }
        }
    }

    /// GIVEN the RFC 7515 A.1 key, header and payload WHEN signed HS256 THEN the RFC's exact JWS.
    func testRFC7515A1HS256() throws {
        let key = SecretBytes(try XCTUnwrap(Base64URL.decode(RFC7515.hs256KeyBase64URL)))
        let token = try JWS.sign(header: RFC7515.hs256Header, payload: RFC7515.payload, with: .hs256(key: key))
        XCTAssertEqual(token, RFC7515.hs256Token)
        XCTAssertTrue(try JWS.parse(token).isValidHS256(key: key))
    }

    /// GIVEN the RFC 7515 A.2 private key WHEN the A.2 input is signed RS256 THEN the RFC's exact
    /// signature (PKCS#1 v1.5 is deterministic), and the key's modulus is the RFC's `n`.
    func testRFC7515A2RS256() throws {
        let key = try RSAPrivateKey(pem: SecretBytes(RFC7515.rs256PrivateKeyPEM), minimumBits: 2048)
        XCTAssertEqual(key.publicKey.modulus, Base64URL.decode(RFC7515.rs256N))
        let token = try JWS.sign(header: RFC7515.rs256Header, payload: RFC7515.payload, with: .rs256(key))
        XCTAssertEqual(token, RFC7515.rs256Token)
    }

    /// GIVEN the RFC 7515 A.2 JWS and a public key built from the RFC's `n`/`e` WHEN verified THEN
    /// it holds, and a copy with one signature bit flipped fails.
    func testRFC7515A2VerifiesWithPublicKeyFromJWK() throws {
        let publicKey = try RSAPublicKey(
            modulus: try XCTUnwrap(Base64URL.decode(RFC7515.rs256N)),
            exponent: try XCTUnwrap(Base64URL.decode(RFC7515.rs256E)))
        XCTAssertEqual(publicKey.bits, 2048)
        let parsed = try JWS.parse(RFC7515.rs256Token)
        XCTAssertTrue(parsed.isValidRS256(publicKey: publicKey))
        var signature = parsed.signature
        signature[0] ^= 0x01
        XCTAssertFalse(publicKey.verify(signature: signature, message: parsed.signingInput))
    }

    /// GIVEN the docs/protocol.md §6.2 secret, header and payload WHEN signed HS256 THEN exactly the
    /// "standard:" line.
    func testProtocolVectorStandard() throws {
        let token = try JWS.sign(
            header: ProtocolVector.header, payload: ProtocolVector.payload,
            with: .hs256(key: SecretBytes(ProtocolVector.clientSecret)))
        XCTAssertEqual(token, ProtocolVector.standard)
    }

    /// GIVEN the docs/protocol.md §6.2 "MCL (padded)" token WHEN parsed THEN its parts decode and its
    /// MAC verifies over the padded bytes as received, not over a re-encoding.
    func testProtocolVectorMCLPaddedVerifiesAsReceived() throws {
        let key = SecretBytes(ProtocolVector.clientSecret)
        let parsed = try JWS.parse(ProtocolVector.mclPadded)
        XCTAssertEqual(parsed.headerJSON, ProtocolVector.header)
        XCTAssertEqual(parsed.payloadJSON, ProtocolVector.payload)
        XCTAssertEqual(parsed.signature.count, 32)
        XCTAssertTrue(parsed.signingInput.contains(UInt8(ascii: "=")))
        XCTAssertTrue(parsed.isValidHS256(key: key))
        let standard = try JWS.parse(ProtocolVector.standard)
        XCTAssertNotEqual(parsed.signature, standard.signature)
        XCTAssertTrue(standard.isValidHS256(key: key))
    }

    /// GIVEN a standard-alphabet (`+`, `/`) signature WHEN parsed THEN it decodes like base64url.
    func testParseAcceptsStandardAlphabet() throws {
        let token = "eyJhbGciOiJIUzI1NiJ9.e30.+/+/"
        XCTAssertEqual(try JWS.parse(token).signature, [0xFB, 0xFF, 0xBF])
    }

    /// GIVEN tokens with 1, 2 or 4 segments WHEN parsed THEN malformedToken.
    func testParseRejectsWrongSegmentCount() {
        expectMalformed("eyJhbGciOiJIUzI1NiJ9")
        expectMalformed("eyJhbGciOiJIUzI1NiJ9.e30")
        expectMalformed("eyJhbGciOiJIUzI1NiJ9.e30.AAAA.AAAA")
    }

    /// GIVEN a token over 16 KiB WHEN parsed THEN malformedToken, before any decoding.
    func testParseRejectsOversizedToken() {
        expectMalformed("eyJhbGciOiJIUzI1NiJ9." + String(repeating: "A", count: JWS.maximumTokenLength) + ".AAAA")
    }

    /// GIVEN a segment that is not base64 WHEN parsed THEN malformedToken.
    func testParseRejectsBadBase64() {
        expectMalformed("eyJhbGciOiJIUzI1NiJ9.e30!.AAAA")
        expectMalformed("eyJhbGciOiJIUzI1NiJ9.e30.A")
    }

    /// GIVEN an empty header segment WHEN parsed THEN malformedToken.
    func testParseRejectsEmptyHeader() {
        expectMalformed(".e30.AAAA")
    }

    /// GIVEN a valid HS256 token WHEN its payload is altered THEN the MAC no longer verifies.
    func testTamperedPayloadFails() throws {
        let key = SecretBytes(ProtocolVector.clientSecret)
        let segments = ProtocolVector.standard.split(separator: ".")
        let forged = [String(segments[0]), Base64URL.encode(Array(#"{"iss":"x"}"#.utf8)), String(segments[2])]
            .joined(separator: ".")
        XCTAssertFalse(try JWS.parse(forged).isValidHS256(key: key))
    }

    /// GIVEN an HS256 token WHEN checked as RS256 (and an RS256 token as HS256) THEN both fail:
    /// the header's alg must match the verifier.
    func testAlgorithmMustMatchVerifier() throws {
        let publicKey = try RSAPublicKey(
            modulus: try XCTUnwrap(Base64URL.decode(RFC7515.rs256N)), exponent: [1, 0, 1])
        XCTAssertFalse(try JWS.parse(ProtocolVector.standard).isValidRS256(publicKey: publicKey))
        XCTAssertFalse(try JWS.parse(RFC7515.rs256Token).isValidHS256(key: SecretBytes("k")))
    }

    /// GIVEN a header whose alg differs from the signer WHEN signed THEN invalidArgument.
    func testSignRejectsHeaderAlgorithmMismatch() {
        XCTAssertThrowsError(
            try JWS.sign(header: RFC7515.rs256Header, payload: [], with: .hs256(key: SecretBytes("k")))
        ) { error in
            guard case .invalidArgument = error as? CryptoError else { return XCTFail("\(error)") }
        }
    }
}
