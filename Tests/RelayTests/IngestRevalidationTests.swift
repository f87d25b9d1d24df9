import Agent
import Relay
import XCTest

/// Queued content against a changed configuration (docs/relay.md §2).
final class IngestRevalidationTests: XCTestCase {
    /// GIVEN queued values WHEN a point is removed and types change THEN misfits are dead, the rest moves to the new
    /// configuration id.
    func testSplitKeepsWhatFitsAndMovesItToTheNewConfiguration() {
        let catalog = DataPointCatalog(
            DataSourceConfiguration(
                configurationID: "cfg-2",
                dataSources: [
                    DataSource(
                        name: "S",
                        dataPoints: [
                            DataPoint(id: "int-to-long", name: "a", type: .long, unit: ""),
                            DataPoint(id: "long-to-int", name: "b", type: .int, unit: ""),
                            DataPoint(id: "double-to-int", name: "c", type: .int, unit: ""),
                            DataPoint(id: "same", name: "d", type: .string, unit: ""),
                            DataPoint(id: "text-to-timestamp", name: "e", type: .timestamp, unit: ""),
                        ])
                ]))
        let content = JournalContent.timeseries([
            TimeseriesEntry(
                configurationID: "cfg-1", timestamp: 1,
                values: [
                    .init(dataPointID: "int-to-long", value: .integer(5)),
                    .init(dataPointID: "gone", value: .integer(5)),
                    .init(dataPointID: "long-to-int", value: .integer(1 << 40)),
                    .init(dataPointID: "same", value: .text("x"), qualityCode: 3),
                    // 128 emoji are 256 UTF-16 code units: one too many for STRING.
                    .init(dataPointID: "same", value: .text(String(repeating: "😀", count: 128))),
                ]),
            TimeseriesEntry(
                configurationID: "cfg-1", timestamp: 2,
                values: [
                    .init(dataPointID: "double-to-int", value: .double(1)),
                    .init(dataPointID: "text-to-timestamp", value: .text("soon")),
                ]),
            TimeseriesEntry(
                configurationID: "cfg-1", timestamp: 3,
                values: [
                    .init(dataPointID: "long-to-int", value: .integer(7)),
                    .init(dataPointID: "text-to-timestamp", value: .text("2026-12-03T10:45:00.000Z")),
                ]),
        ])
        let (keep, dead) = Revalidation.split(content, against: catalog)
        XCTAssertEqual(
            keep,
            .timeseries([
                TimeseriesEntry(
                    configurationID: "cfg-2", timestamp: 1,
                    values: [
                        .init(dataPointID: "int-to-long", value: .integer(5)),
                        .init(dataPointID: "same", value: .text("x"), qualityCode: 3),
                    ]),
                TimeseriesEntry(
                    configurationID: "cfg-2", timestamp: 3,
                    values: [
                        .init(dataPointID: "long-to-int", value: .integer(7)),
                        .init(dataPointID: "text-to-timestamp", value: .text("2026-12-03T10:45:00.000Z")),
                    ]),
            ]))
        XCTAssertEqual(
            dead.map(\.value.dataPointID), ["gone", "long-to-int", "same", "double-to-int", "text-to-timestamp"])
        XCTAssertEqual(dead.map(\.timestamp), [1, 1, 1, 2, 2])
        XCTAssertEqual(Set(dead.map(\.configurationID)), ["cfg-1"])
        XCTAssertTrue(dead[0].reason.contains("not in configuration cfg-2"), dead[0].reason)
        XCTAssertTrue(dead[1].reason.contains("INT"), dead[1].reason)
    }

    /// GIVEN only misfits, or an event WHEN split THEN nothing is kept, or the event is kept as it is.
    func testNothingLeftAndEvents() {
        let empty = DataPointCatalog(DataSourceConfiguration(configurationID: "c", dataSources: []))
        let values = JournalContent.timeseries([
            TimeseriesEntry(
                configurationID: "b", timestamp: 0, values: [.init(dataPointID: "p", value: .boolean(true))])
        ])
        XCTAssertNil(Revalidation.split(values, against: empty).keep)
        XCTAssertEqual(Revalidation.split(values, against: empty).dead.count, 1)
        let event = JournalContent.event(EventRecord(id: "e", timestamp: 0, severity: .info))
        XCTAssertEqual(Revalidation.split(event, against: empty).keep, event)
        XCTAssertTrue(Revalidation.split(event, against: empty).dead.isEmpty)
    }

    /// GIVEN a frame of sequences 10…16 with dead values at 11, 12 and 16 WHEN checked THEN the runs that fit start
    /// at their own sequences (10, 13) and every dead value has its sequence: nothing shifts.
    func testPiecesKeepEverySequence() {
        let catalog = DataPointCatalog(
            DataSourceConfiguration(
                configurationID: "cfg-2",
                dataSources: [
                    DataSource(name: "S", dataPoints: [DataPoint(id: "a", name: "a", type: .int, unit: "")])
                ]))
        let content = JournalContent.timeseries([
            TimeseriesEntry(
                configurationID: "cfg-1", timestamp: 1,
                values: [
                    .init(dataPointID: "a", value: .integer(1)), .init(dataPointID: "gone", value: .integer(2)),
                    .init(dataPointID: "a", value: .text("x")), .init(dataPointID: "a", value: .integer(4)),
                ]),
            TimeseriesEntry(
                configurationID: "cfg-1", timestamp: 2,
                values: [
                    .init(dataPointID: "a", value: .integer(5)), .init(dataPointID: "a", value: .integer(6)),
                    .init(dataPointID: "gone", value: .integer(7)),
                ]),
        ])
        let (fit, dead) = Revalidation.pieces(content, firstSequence: 10, against: catalog)
        XCTAssertEqual(dead.map(\.sequence), [11, 12, 16])
        XCTAssertEqual(fit.map(\.firstSequence), [10, 13, 14])
        XCTAssertEqual(
            fit.map(\.content),
            [
                .timeseries([
                    .init(configurationID: "cfg-2", timestamp: 1, values: [.init(dataPointID: "a", value: .integer(1))])
                ]),
                .timeseries([
                    .init(configurationID: "cfg-2", timestamp: 1, values: [.init(dataPointID: "a", value: .integer(4))])
                ]),
                .timeseries([
                    .init(
                        configurationID: "cfg-2", timestamp: 2,
                        values: [
                            .init(dataPointID: "a", value: .integer(5)), .init(dataPointID: "a", value: .integer(6)),
                        ])
                ]),
            ])
        let fitting = JournalContent.timeseries([
            TimeseriesEntry(
                configurationID: "cfg-2", timestamp: 1, values: [.init(dataPointID: "a", value: .integer(1))])
        ])
        let whole = Revalidation.pieces(fitting, firstSequence: 20, against: catalog)
        XCTAssertEqual(whole.fit.map(\.firstSequence), [20])
        XCTAssertEqual(whole.fit.map(\.content), [fitting])
        XCTAssertTrue(whole.dead.isEmpty)
        let event = JournalContent.event(EventRecord(id: "e", timestamp: 0, severity: .info))
        XCTAssertEqual(Revalidation.pieces(event, firstSequence: 3, against: catalog).fit.map(\.firstSequence), [3])
    }
}
