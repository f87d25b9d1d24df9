import XCTest

@testable import Platform

final class UTCCalendarTests: XCTestCase {
    /// GIVEN known dates WHEN converted to days since the epoch and back THEN the known day numbers, both ways.
    func testDayNumberVectors() {
        let vectors: [(Int, Int, Int, Int)] = [
            (1970, 1, 1, 0), (1969, 12, 31, -1), (2000, 3, 1, 11_017), (2024, 2, 29, 19_782), (2024, 3, 1, 19_783),
            (2038, 1, 19, 24_855), (2100, 3, 1, 47_541), (2400, 2, 29, 157_113), (1900, 3, 1, -25_508),
        ]
        for (year, month, day, days) in vectors {
            XCTAssertEqual(
                UTCCalendar.daysSinceEpoch(year: year, month: month, day: day), days, "\(year)-\(month)-\(day)")
            let civil = UTCCalendar.civil(fromDays: days)
            XCTAssertEqual([civil.year, civil.month, civil.day], [year, month, day], "\(days)")
        }
    }

    /// GIVEN every day from 1900 to 2500 WHEN converted to a date and back THEN the same day number, and dates advance
    /// one day at a time.
    func testRoundTripOverSixCenturies() {
        var previous = UTCCalendar.civil(fromDays: -25_568)
        XCTAssertEqual([previous.year, previous.month, previous.day], [1899, 12, 31])
        for days in -25_567...194_000 {
            let date = UTCCalendar.civil(fromDays: days)
            XCTAssertEqual(UTCCalendar.daysSinceEpoch(year: date.year, month: date.month, day: date.day), days)
            let advanced = date.day == previous.day + 1 || (date.day == 1 && (date.month == previous.month % 12 + 1))
            if !advanced { return XCTFail("\(previous) → \(date)") }
            previous = date
        }
    }

    /// GIVEN epoch seconds WHEN formatted THEN ISO 8601 UTC with a Z, fractions truncated, negatives before 1970.
    func testISO8601Formatting() {
        XCTAssertEqual(UTCCalendar.iso8601(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(UTCCalendar.iso8601(-1), "1969-12-31T23:59:59Z")
        XCTAssertEqual(UTCCalendar.iso8601(1_709_164_800), "2024-02-29T00:00:00Z")
        XCTAssertEqual(UTCCalendar.iso8601(1_709_251_199.999), "2024-02-29T23:59:59Z")
        XCTAssertEqual(UTCCalendar.iso8601(2_147_483_647), "2038-01-19T03:14:07Z")
        XCTAssertEqual(UTCCalendar.iso8601(2_147_483_648), "2038-01-19T03:14:08Z")
        XCTAssertEqual(UTCCalendar.iso8601(4_102_444_800), "2100-01-01T00:00:00Z")
        XCTAssertEqual(UTCCalendar.iso8601(1_800_002_880), "2027-01-15T08:48:00Z")
    }
}
