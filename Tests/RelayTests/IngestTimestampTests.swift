import Relay
import XCTest

/// ISO 8601 and epoch milliseconds in, the exchange's 24-character form out (docs/protocol.md §14).
final class IngestTimestampTests: XCTestCase {
    /// 2026-12-03T10:45:00.000Z.
    static let reference: Int64 = 1_796_294_700_000

    /// GIVEN the same instant with Z, +hh:mm, -hhmm, +hh, lowercase and a space WHEN parsed THEN all give the same ms.
    func testOffsetsDenoteTheSameInstant() throws {
        for text in [
            "2026-12-03T10:45:00Z", "2026-12-03T10:45:00.000Z", "2026-12-03T11:45:00+01:00", "2026-12-03T09:15:00-0130",
            "2026-12-03T12:45:00+02", "2026-12-03t10:45:00z", "2026-12-03 10:45:00Z", "2026-12-03T10:45:00-00:00",
            "2026-12-04T00:45:00+14:00",
        ] {
            XCTAssertEqual(try Timestamps.parseISO8601(text), Self.reference, text)
        }
    }

    /// GIVEN fractions of 1 to 9 digits WHEN parsed THEN milliseconds are kept and further digits cut.
    func testFractionsKeepMillisecondsAndTruncate() throws {
        let cases: [(String, Int64)] = [
            ("2026-12-03T10:45:00.5Z", 500), ("2026-12-03T10:45:00.12Z", 120), ("2026-12-03T10:45:00.123Z", 123),
            ("2026-12-03T10:45:00.1239Z", 123), ("2026-12-03T10:45:00.999999999Z", 999),
            ("2026-12-03T10:45:00,25Z", 250),
        ]
        for (text, milliseconds) in cases {
            XCTAssertEqual(try Timestamps.parseISO8601(text), Self.reference + milliseconds, text)
        }
    }

    /// GIVEN leap days WHEN parsed THEN 29 February exists only in leap years (2000 yes, 1900 and 2100 no).
    func testLeapDays() {
        XCTAssertNoThrow(try Timestamps.parseISO8601("2024-02-29T00:00:00Z"))
        XCTAssertNoThrow(try Timestamps.parseISO8601("2000-02-29T00:00:00Z"))
        for text in ["2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z"] {
            XCTAssertThrowsError(try Timestamps.parseISO8601(text), text) { error in
                guard case .impossible = error as? Timestamps.ParseError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertEqual(try Timestamps.parseISO8601("2024-02-29T12:00:00Z"), 1_709_208_000_000)
    }

    /// GIVEN malformed or impossible texts WHEN parsed THEN each is refused with a reason.
    func testRefusals() {
        let refused = [
            "", "2026-12-03", "2026-12-03T10:45Z", "2026-12-03T10:45:00", "2026-12-03T10:45:00.Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-00T00:00:00Z", "2026-12-03T24:00:00Z",
            "2026-12-03T10:60:00Z", "2026-12-03T10:45:60Z", "2026-12-03T10:45:00+24:00", "2026-12-03T10:45:00+01:60",
            "2026-12-03T10:45:00+1", "2026-12-03T10:45:00Z ", " 2026-12-03T10:45:00Z", "26-12-03T10:45:00Z",
            "2026-12-03T10:45:00.123+", "+2026-12-03T10:45:00Z", "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "2026-1２-03T10:45:00Z",
        ]
        for text in refused {
            XCTAssertThrowsError(try Timestamps.parseISO8601(text), text) { error in
                XCTAssertFalse((error as? Timestamps.ParseError)?.reason.isEmpty ?? true)
            }
        }
        XCTAssertThrowsError(try Timestamps.parseISO8601("2026-12-03T10:45:00")) { error in
            XCTAssertEqual(error as? Timestamps.ParseError, .missingOffset)
        }
    }

    /// GIVEN times across the whole range WHEN formatted THEN the text is 24 characters and parses back.
    func testExchangeFormRoundTrips() throws {
        XCTAssertEqual(Timestamps.exchangeForm(Self.reference + 7), "2026-12-03T10:45:00.007Z")
        XCTAssertEqual(Timestamps.exchangeForm(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(Timestamps.exchangeForm(-1), "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(Timestamps.exchangeForm(Timestamps.earliest), "0000-01-01T00:00:00.000Z")
        XCTAssertEqual(Timestamps.exchangeForm(Timestamps.latest), "9999-12-31T23:59:59.999Z")
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: Timestamps.earliest...Timestamps.latest, using: &generator)
            let text = Timestamps.exchangeForm(milliseconds)
            XCTAssertEqual(text.utf8.count, 24)
            XCTAssertEqual(try Timestamps.parseISO8601(text), milliseconds, text)
            XCTAssertEqual(Timestamps.parseExchangeForm(text), milliseconds)
        }
        // Outside the range: longer text, never a trap.
        XCTAssertGreaterThan(Timestamps.exchangeForm(.max).utf8.count, 24)
        XCTAssertGreaterThan(Timestamps.exchangeForm(.min).utf8.count, 24)
    }

    /// GIVEN texts close to the exchange form WHEN read strictly THEN only the exact 24-character form passes.
    func testExchangeFormIsStrict() {
        XCTAssertNil(Timestamps.parseExchangeForm("2026-12-03T10:45:00Z"))
        XCTAssertNil(Timestamps.parseExchangeForm("2026-12-03T10:45:00.000+00:00"))
        XCTAssertNil(Timestamps.parseExchangeForm("2026-12-03 10:45:00.000Z"))
        XCTAssertNotNil(Timestamps.parseExchangeForm("2026-12-03T10:45:00.000Z"))
    }

    /// GIVEN epoch milliseconds at and beyond the range WHEN checked THEN only 0000…9999 passes.
    func testEpochMillisecondsRange() {
        XCTAssertEqual(try Timestamps.checkEpochMilliseconds(Timestamps.latest), Timestamps.latest)
        XCTAssertThrowsError(try Timestamps.checkEpochMilliseconds(Timestamps.latest + 1))
        XCTAssertThrowsError(try Timestamps.checkEpochMilliseconds(Timestamps.earliest - 1))
    }
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
    var success: Success? { if case .success(let value) = self { value } else { nil } }
}

/// SplitMix64: reproducible pseudo-random input for property tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
