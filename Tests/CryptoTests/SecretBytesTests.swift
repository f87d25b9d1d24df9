import XCTest

@testable import Crypto

final class SecretBytesTests: XCTestCase {
    /// GIVEN a secret WHEN printed in every usual way THEN only "<redacted N bytes>" appears.
    func testDescriptionsNeverContainTheSecret() {
        let secret = SecretBytes("e8KgU3uK0lq2cR8x1x0e6XoQw6bV0m2cYt9sZp4nHkA")
        var dumped = ""
        dump(secret, to: &dumped)
        for text in ["\(secret)", String(describing: secret), String(reflecting: secret), dumped] {
            XCTAssertFalse(text.contains("e8KgU3"), text)
        }
        XCTAssertEqual("\(secret)", "<redacted 43 bytes>")
        XCTAssertEqual(String(reflecting: secret), "<redacted 43 bytes>")
    }

    /// GIVEN a secret WHEN read back through withUnsafeBytes THEN the bytes and count are intact.
    func testContents() {
        let secret = SecretBytes([0, 1, 2, 255])
        XCTAssertEqual(secret.count, 4)
        XCTAssertEqual(secret.withUnsafeBytes { Array($0) }, [0, 1, 2, 255])
        XCTAssertEqual(SecretBytes("").count, 0)
    }

    /// GIVEN secrets WHEN compared THEN equal only for the same bytes and length.
    func testEquality() {
        XCTAssertEqual(SecretBytes("abc"), SecretBytes(Array("abc".utf8)))
        XCTAssertNotEqual(SecretBytes("abc"), SecretBytes("abd"))
        XCTAssertNotEqual(SecretBytes("abc"), SecretBytes("ab"))
    }

    /// GIVEN a buffer WHEN a secret is made from it with `wiping:` THEN the secret has the bytes
    /// and the buffer is zeroed.
    func testInitWipingClearsTheSource() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 3, alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: [7, 8, 9])
        let secret = SecretBytes(wiping: buffer)
        XCTAssertEqual(secret.withUnsafeBytes { Array($0) }, [7, 8, 9])
        XCTAssertEqual(Array(buffer), [0, 0, 0])
    }
}
