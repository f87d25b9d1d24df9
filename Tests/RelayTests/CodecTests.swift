import JSON
import Relay
import XCTest

/// The journal's compact payload (docs/relay.md §3): round trips, size per value, corrupt input.
final class CodecTests: XCTestCase {
    /// Random content: all value kinds, quality codes, shared and distinct ids, timestamps in any order.
    static func content(_ generator: inout SeededGenerator) -> JournalContent {
        if Int.random(in: 0..<5, using: &generator) == 0 { return .event(event(&generator)) }
        let configurations = ["cfg-a", "cfg-b", ""]
        var entries: [TimeseriesEntry] = []
        for _ in 0..<Int.random(in: 0..<8, using: &generator) {
            var values: [TimeseriesValue] = []
            for _ in 0..<Int.random(in: 0..<6, using: &generator) {
                let value: RecordValue
                switch Int.random(in: 0..<6, using: &generator) {
                case 0:
                    value = .integer(Int64(bitPattern: generator.next()) >> Int64.random(in: 0..<64, using: &generator))
                case 1: value = .double(Double(bitPattern: generator.next()))
                case 2: value = .boolean(Bool.random(using: &generator))
                case 3: value = .text(text(&generator))
                case 4:
                    value = .text(
                        Timestamps.exchangeForm(
                            Int64.random(in: Timestamps.earliest...Timestamps.latest, using: &generator)))
                default: value = .text("2026-12-03T10:45:00Z")  // a timestamp-like text that is not the exchange form
                }
                let quality = Bool.random(using: &generator) ? 0 : UInt32.random(in: 0...UInt32.max, using: &generator)
                values.append(
                    TimeseriesValue(
                        dataPointID: "dp-\(Int.random(in: 0..<5, using: &generator))", value: value,
                        qualityCode: quality))
            }
            entries.append(
                TimeseriesEntry(
                    configurationID: configurations.randomElement(using: &generator)!,
                    timestamp: Int64(bitPattern: generator.next()), values: values))
        }
        return .timeseries(entries)
    }

    static func text(_ generator: inout SeededGenerator) -> String {
        let alphabet = Array("aZ0 \"\\\n\u{0}é€😀")
        return String(
            (0..<Int.random(in: 0..<12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func event(_ generator: inout SeededGenerator) -> EventRecord {
        func optional(_ generator: inout SeededGenerator) -> String? {
            Bool.random(using: &generator) ? text(&generator) : nil
        }
        return EventRecord(
            id: "3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17", timestamp: Int64(bitPattern: generator.next()),
            severity: EventRecord.Severity.allCases.randomElement(using: &generator)!, type: optional(&generator),
            description: optional(&generator), correlationID: optional(&generator),
            details: Bool.random(using: &generator)
                ? .object([])
                : .object([("a", .number(1.5)), ("b", .array([.null, .bool(true), .string(text(&generator))]))]))
    }

    /// Equality that treats NaN payloads as equal bit patterns.
    static func same(_ lhs: JournalContent, _ rhs: JournalContent) -> Bool {
        guard case .timeseries(let a) = lhs, case .timeseries(let b) = rhs else { return lhs == rhs }
        return a.count == b.count
            && zip(a, b).allSatisfy { x, y in
                x.configurationID == y.configurationID && x.timestamp == y.timestamp && x.values.count == y.values.count
                    && zip(x.values, y.values).allSatisfy { v, w in
                        if case .double(let p) = v.value, case .double(let q) = w.value {
                            return p.bitPattern == q.bitPattern && v.dataPointID == w.dataPointID
                                && v.qualityCode == w.qualityCode
                        }
                        return v == w
                    }
            }
    }

    /// GIVEN 2,000 random contents WHEN encoded and decoded THEN each comes back exactly.
    func testRoundTrip() throws {
        var generator = SeededGenerator(seed: 42)
        for round in 0..<2000 {
            let content = Self.content(&generator)
            let decoded = try RecordCodec.decode(RecordCodec.encode(content))
            XCTAssertTrue(Self.same(decoded, content), "round \(round): \(content) ≠ \(decoded)")
        }
    }

    /// GIVEN a typical request (10 DOUBLE points × 100 timestamps) WHEN encoded THEN it stays within the size budget.
    func testBytesPerValue() throws {
        let (body, catalog) = IngestTimeseriesTests.thousandValueBody()
        let entries = try TimeseriesIngest.parse(
            body: body, format: .json, catalog: catalog, now: IngestTimeseriesTests.now
        ).get()
        let payload = RecordCodec.encode(.timeseries(entries))
        let perValue = Double(payload.count) / 1000
        let stored = Double(payload.count + 24) / 1000
        print(
            "codec: \(payload.count) bytes for 1000 DOUBLE values: \(perValue) bytes/value, "
                + "\(stored) with a 24-byte frame header"
        )
        XCTAssertLessThanOrEqual(perValue, 11.0)
        XCTAssertLessThanOrEqual(stored, 24)
    }

    /// GIVEN encoded content cut at every offset WHEN decoded THEN it throws and never traps.
    func testTruncationsThrow() {
        var generator = SeededGenerator(seed: 1)
        for _ in 0..<60 {
            let bytes = RecordCodec.encode(Self.content(&generator))
            for length in 0..<bytes.count {
                XCTAssertThrowsError(try RecordCodec.decode(Array(bytes[0..<length])), "cut at \(length)")
            }
        }
    }

    /// GIVEN encoded content with random bytes changed or added WHEN decoded THEN it returns or throws, never traps.
    func testCorruptionNeverTraps() {
        var generator = SeededGenerator(seed: 2)
        var thrown = 0
        for _ in 0..<5000 {
            var bytes = RecordCodec.encode(Self.content(&generator))
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                if bytes.isEmpty || Int.random(in: 0..<8, using: &generator) == 0 {
                    bytes.append(UInt8.random(in: 0...255, using: &generator))
                } else {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0...255, using: &generator)
                }
            }
            do { _ = try RecordCodec.decode(bytes) } catch { thrown += 1 }
        }
        XCTAssertGreaterThan(thrown, 0)
        // Huge counts and lengths announce more than the bytes hold.
        for hostile: [UInt8] in [
            [0x54, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x54, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
            [0x54, 0x01, 0xFF, 0xFF, 0x7F],
            [0x54, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x45], [], [0x00],
        ] {
            XCTAssertThrowsError(try RecordCodec.decode(hostile), "\(hostile)")
        }
        // A count is refused before anything is reserved for it.
        XCTAssertThrowsError(try RecordCodec.decode([0x54, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])) { error in
            XCTAssertEqual(error as? RecordCodecError, .badCount(at: 1))
        }
        XCTAssertThrowsError(try RecordCodec.decode([0x54, 0x01, 0x01, 0x61, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x03])) {
            error in
            XCTAssertEqual(error as? RecordCodecError, .badCount(at: 7))
        }
    }
}
