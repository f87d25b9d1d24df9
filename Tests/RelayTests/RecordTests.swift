import Relay
import XCTest

final class RecordTests: XCTestCase {
    func testRecordCountIsValuesForTimeseriesAndOneForAnEvent() {
        let entries = [
            TimeseriesEntry(
                configurationID: "c", timestamp: 0,
                values: [.init(dataPointID: "a", value: .integer(1)), .init(dataPointID: "b", value: .boolean(true))]),
            TimeseriesEntry(configurationID: "c", timestamp: 1, values: [.init(dataPointID: "a", value: .double(2.5))]),
        ]
        XCTAssertEqual(JournalContent.timeseries(entries).recordCount, 3)
        XCTAssertEqual(JournalContent.event(EventRecord(id: "x", timestamp: 0, severity: .info)).recordCount, 1)
    }
}
