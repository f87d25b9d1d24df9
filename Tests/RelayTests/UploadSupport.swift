import Relay

/// Deterministic randomness for the upload tests (SplitMix64).
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// In [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) / Double(UInt64(1) << 53)
    }

    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

enum UploadFixture {
    static func value(_ dataPoint: String, _ number: Int64) -> TimeseriesValue {
        TimeseriesValue(dataPointID: dataPoint, value: .integer(number))
    }

    static func entry(_ configuration: String = "cfg", at timestamp: Int64, _ values: [TimeseriesValue])
        -> TimeseriesEntry
    {
        TimeseriesEntry(configurationID: configuration, timestamp: timestamp, values: values)
    }

    /// One timeseries unit per sequence, each at its own timestamp `sequence · 1000`.
    static func units(_ sequences: ClosedRange<UInt64>, configuration: String = "cfg") -> [BatchUnit] {
        sequences.map { sequence in
            BatchUnit(
                firstSequence: sequence,
                entry: entry(configuration, at: Int64(sequence) * 1000, [value("dp", Int64(sequence))]))
        }
    }

    static func event(_ id: String, at timestamp: Int64 = 0) -> EventRecord {
        EventRecord(id: id, timestamp: timestamp, severity: .info)
    }

    /// Fixed boundaries, 20 characters each: the main one, then one per item.
    static func boundaries() -> () -> String {
        var count = 0
        return {
            defer { count += 1 }
            let name = count == 0 ? "MAIN" : "ITEM\(count)"
            return name + String(repeating: "0", count: 20 - name.count)
        }
    }
}
