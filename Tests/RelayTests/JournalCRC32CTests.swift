import XCTest

@testable import Relay

final class JournalCRC32CTests: XCTestCase {
    /// The bit-at-a-time definition, to check the sliced tables against.
    private func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    /// GIVEN the standard check input WHEN summed THEN the CRC-32C check value (RFC 3720 B.4's polynomial).
    func testCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    /// GIVEN 32 zero bytes and 32 bytes 0xFF (RFC 3720 B.4) WHEN summed THEN the published values.
    func testRFC3720Vectors() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
    }

    /// GIVEN every length 0…300 and every split point of one buffer WHEN summed in slices or in parts THEN the
    /// bitwise definition's value.
    func testSlicingMatchesBitwiseDefinition() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...bytes.count {
            XCTAssertEqual(CRC32C.checksum(Array(bytes[0..<length])), reference(Array(bytes[0..<length])), "\(length)")
        }
        for split in stride(from: 0, through: 300, by: 7) {
            let first = CRC32C.checksum(bytes[0..<split])
            XCTAssertEqual(CRC32C.checksum(bytes[split...], continuing: first), reference(bytes))
        }
    }
}
