import XCTest

@testable import Crypto

final class RSAKeyTests: XCTestCase {
    private func expectInvalidKey(
        _ body: @autoclosure () throws -> some Any, mentioning word: String, line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case .invalidKey(let reason) = error as? CryptoError else {
                return XCTFail("\(error)", line: line)
            }
            XCTAssertTrue(reason.contains(word), reason, line: line)
        }
    }

    /// GIVEN a generated key WHEN inspected THEN 3072 bits and e = 65537, as RSA_3072 requires.
    func testGenerate3072() throws {
        let key = try SharedTestKey.get()
        XCTAssertEqual(key.bits, 3072)
        XCTAssertEqual(key.publicKey.bits, 3072)
        XCTAssertEqual(key.publicKey.modulus.count, 384)
        XCTAssertEqual(key.publicKey.exponent, [0x01, 0x00, 0x01])
    }

    /// GIVEN a key WHEN written as PKCS#8 PEM and read back THEN same public key, and the reloaded
    /// key's signatures verify under the original public key.
    func testPKCS8RoundTrip() throws {
        let key = try SharedTestKey.get()
        let pem = try key.pkcs8PEM()
        let text = pem.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        XCTAssertTrue(text.hasPrefix("-----BEGIN PRIVATE KEY-----\n"), "not PKCS#8")
        XCTAssertTrue(text.hasSuffix("-----END PRIVATE KEY-----\n"))
        let reloaded = try RSAPrivateKey(pkcs8PEM: pem)
        XCTAssertEqual(reloaded.publicKey, key.publicKey)
        let message = Array("round trip".utf8)
        XCTAssertTrue(key.publicKey.verify(signature: try reloaded.sign(message), message: message))
    }

    /// GIVEN a signature WHEN verified THEN it holds; WHEN the message changes THEN it fails and
    /// leaves nothing on this thread's OpenSSL error queue.
    func testSignVerify() throws {
        let key = try SharedTestKey.get()
        let message = Array("signing input".utf8)
        let signature = try key.sign(message, digest: .sha256)
        XCTAssertEqual(signature.count, 384)
        XCTAssertTrue(key.publicKey.verify(signature: signature, message: message))
        XCTAssertFalse(key.publicKey.verify(signature: signature, message: message + [0]))
        XCTAssertFalse(key.publicKey.verify(signature: [], message: message))
        XCTAssertEqual(OpenSSLError.drainReason(), "no detail on the OpenSSL error queue")
        XCTAssertFalse(key.publicKey.verify(signature: signature, message: message, digest: .sha384))
    }

    /// GIVEN a 3072-bit key WHEN exported as JWK THEN `n` is 512 unpadded base64url characters of
    /// the modulus and `e` is "AQAB" (docs/protocol.md §4).
    func testJWK() throws {
        let publicKey = try SharedTestKey.get().publicKey
        let jwk = publicKey.jwk(kid: "key-1")
        XCTAssertEqual(jwk.kty, "RSA")
        XCTAssertEqual(jwk.kid, "key-1")
        XCTAssertEqual(jwk.e, "AQAB")
        XCTAssertEqual(jwk.n.count, 512)
        XCTAssertFalse(jwk.n.contains("="))
        XCTAssertFalse(jwk.n.contains("+") || jwk.n.contains("/"))
        XCTAssertEqual(Base64URL.decode(jwk.n), publicKey.modulus)
    }

    /// GIVEN a public key WHEN written as SPKI PEM and read back THEN the same key; and the JWK
    /// components rebuild it too.
    func testPublicKeyRoundTrips() throws {
        let publicKey = try SharedTestKey.get().publicKey
        let pem = try publicKey.spkiPEM()
        XCTAssertTrue(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        XCTAssertEqual(try RSAPublicKey(spkiPEM: pem), publicKey)
        XCTAssertEqual(try RSAPublicKey(modulus: publicKey.modulus, exponent: publicKey.exponent), publicKey)
    }

    /// GIVEN a valid 2048-bit RSA PEM WHEN loaded as the agent key THEN invalidKey naming the size.
    func testRejects2048BitKey() {
        expectInvalidKey(try RSAPrivateKey(pkcs8PEM: SecretBytes(RFC7515.rs256PrivateKeyPEM)), mentioning: "2048")
    }

    /// GIVEN an EC private key WHEN loaded THEN invalidKey saying it is not RSA.
    func testRejectsNonRSAKey() {
        expectInvalidKey(try RSAPrivateKey(pkcs8PEM: SecretBytes(RefusedKeys.ecPrivateKeyPEM)), mentioning: "RSA")
    }

    /// GIVEN garbage, an empty buffer, a truncated PEM or an encrypted PEM WHEN loaded THEN
    /// invalidKey, without a crash or a password prompt.
    func testRejectsUnreadablePEM() throws {
        let truncated = String(RFC7515.rs256PrivateKeyPEM.prefix(400))
        for text in ["garbage", "", truncated, RefusedKeys.encryptedPrivateKeyPEM] {
            expectInvalidKey(try RSAPrivateKey(pkcs8PEM: SecretBytes(text)), mentioning: "PEM")
        }
        expectInvalidKey(try RSAPublicKey(spkiPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n"), mentioning: "PEM")
        expectInvalidKey(try RSAPublicKey(modulus: [], exponent: [1, 0, 1]), mentioning: "empty")
    }

    /// GIVEN a size below 3072 WHEN generating THEN invalidArgument, not a weak key.
    func testGenerateRejectsSmallKeys() {
        XCTAssertThrowsError(try RSAPrivateKey.generate(bits: 2048)) { error in
            guard case .invalidArgument = error as? CryptoError else { return XCTFail("\(error)") }
        }
    }
}
