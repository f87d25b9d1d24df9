import XCTest

@testable import Crypto

/// RFC 4231 §4 test cases for HMAC-SHA256.
final class HMACTests: XCTestCase {
    private func mac(_ key: [UInt8], _ message: [UInt8]) throws -> String {
        Hex.encode(try HMACSHA256.authenticationCode(key: key, message: message))
    }

    /// GIVEN RFC 4231 case 1 (20 × 0x0b, "Hi There") WHEN MACed THEN the published value.
    func testCase1() throws {
        XCTAssertEqual(
            try mac([UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8)),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    /// GIVEN RFC 4231 case 2 (a key shorter than the output) WHEN MACed THEN the published value.
    func testCase2() throws {
        XCTAssertEqual(
            try mac(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// GIVEN RFC 4231 case 3 (20 × 0xaa, 50 × 0xdd) WHEN MACed THEN the published value.
    func testCase3() throws {
        XCTAssertEqual(
            try mac([UInt8](repeating: 0xAA, count: 20), [UInt8](repeating: 0xDD, count: 50)),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
    }

    /// GIVEN RFC 4231 case 4 (key 0x01…0x19, 50 × 0xcd) WHEN MACed THEN the published value.
    func testCase4() throws {
        XCTAssertEqual(
            try mac(Array(1...25), [UInt8](repeating: 0xCD, count: 50)),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
    }

    /// GIVEN RFC 4231 case 5 WHEN MACed and truncated to 128 bits THEN the published value.
    func testCase5Truncated() throws {
        let full = try HMACSHA256.authenticationCode(
            key: [UInt8](repeating: 0x0C, count: 20), message: Array("Test With Truncation".utf8))
        XCTAssertEqual(Hex.encode(full.prefix(16)), "a3b6167473100ee06e0c796c2955552b")
    }

    /// GIVEN RFC 4231 case 6 (a 131-byte key, hashed first) WHEN MACed THEN the published value.
    func testCase6() throws {
        XCTAssertEqual(
            try mac(
                [UInt8](repeating: 0xAA, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// GIVEN RFC 4231 case 7 (large key and large data) WHEN MACed THEN the published value.
    func testCase7() throws {
        let message =
            "This is a test using a larger than block-size key and a larger than block-size data."
            + " The key needs to be hashed before being used by the HMAC algorithm."
        XCTAssertEqual(
            try mac([UInt8](repeating: 0xAA, count: 131), Array(message.utf8)),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    /// GIVEN an empty key and message WHEN MACed THEN Python's hmac agrees (no NULL-key pitfall).
    func testEmptyKeyAndMessage() throws {
        XCTAssertEqual(try mac([], []), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    /// GIVEN the same key as SecretBytes and as an array WHEN MACed THEN the results agree.
    func testSecretKeyMatchesArrayKey() throws {
        let key = Array("Jefe".utf8)
        let message = Array("what do ya want for nothing?".utf8)
        XCTAssertEqual(
            try HMACSHA256.authenticationCode(key: SecretBytes(key), message: message),
            try HMACSHA256.authenticationCode(key: key, message: message))
    }

    /// GIVEN a MAC WHEN checked with isValid THEN it holds, and fails after one bit flips.
    func testIsValid() throws {
        let key = SecretBytes("Jefe")
        let message = Array("what do ya want for nothing?".utf8)
        var code = try HMACSHA256.authenticationCode(key: key, message: message)
        XCTAssertTrue(HMACSHA256.isValid(code, key: key, message: message))
        code[31] ^= 0x01
        XCTAssertFalse(HMACSHA256.isValid(code, key: key, message: message))
        XCTAssertFalse(HMACSHA256.isValid(Array(code.prefix(16)), key: key, message: message))
    }
}
