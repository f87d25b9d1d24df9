import Platform
import XCTest

@testable import Agent

/// Random valid configurations, written in the YAML subset by a small emitter that picks a
/// quoting style per value, must parse back to the model they were written from.
final class DataSourcesPropertyTests: XCTestCase {
    /// Text pieces that stress the scanner: indicators, quotes, comment and mapping markers, YAML
    /// keywords, several scripts, astral characters.
    static let pieces = [
        "a", "Z", "0", "7", " ", "  ", "#", " #", ": ", ":", "\"", "'", "''", "\\", "é", "Жар", "水温", "😀", "°C", "-",
        "- ",
        "[", "]", "{", "}", "&", "*", "!", "%", "@", "|", ">", "~", "null", "true", "?", ",", "/", "\\n", "---", "Ω",
    ]
    /// Only descriptions and customData values may hold these.
    static let controlPieces = ["\n", "\t", "\r"]

    indirect enum Tree {
        case map([(String, Tree)])
        case list([Tree])
        case text(String)
    }

    struct Generator {
        var rng: XorShift
        var idCounter = 0

        mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

        /// Random text of at most `limit` UTF-16 units; never empty when `nonEmpty`.
        mutating func text(limit: Int, nonEmpty: Bool = true, controls: Bool = false) -> String {
            var out = ""
            let target = int(0...min(limit, chance(10) ? limit : 12))
            while out.utf16.count < target {
                let piece =
                    controls && chance(10)
                    ? Self.controlPiece(&rng) : DataSourcesPropertyTests.pieces.randomElement(using: &rng)!
                if out.utf16.count + piece.utf16.count > limit { break }
                out += piece
            }
            if nonEmpty && out.isEmpty { out = "n" }
            return out
        }

        static func controlPiece(_ rng: inout XorShift) -> String {
            DataSourcesPropertyTests.controlPieces.randomElement(using: &rng)!
        }

        mutating func customData() -> [(String, String)] {
            var pairs: [(String, String)] = []
            for _ in 0..<(chance(50) ? 0 : int(1...5)) {
                let key = text(limit: 64)
                if pairs.contains(where: { $0.0 == key }) { continue }
                pairs.append((key, text(limit: 256, nonEmpty: false, controls: true)))
            }
            return pairs
        }

        mutating func configuration() -> (model: DataSourceConfiguration, explicitID: Bool) {
            var sources: [DataSource] = []
            for _ in 0..<int(1...4) {
                var name = text(limit: 60)
                while sources.contains(where: { $0.name == name }) { name = text(limit: 60) }
                var points: [DataPoint] = []
                for _ in 0..<int(1...6) {
                    var pointName = text(limit: 64)
                    while points.contains(where: { $0.name == pointName }) { pointName = text(limit: 64) }
                    let id: String
                    if chance(40) {
                        idCounter += 1
                        id = "id-\(idCounter)-" + text(limit: 20)
                    } else {
                        id = DataSourceConfiguration.derivedPointID(source: name, point: pointName)
                    }
                    points.append(
                        DataPoint(
                            id: id, name: pointName,
                            description: chance(50) ? text(limit: 256, nonEmpty: false, controls: true) : nil,
                            type: DataPointType.allCases.randomElement(using: &rng)!,
                            unit: chance(30) ? "" : text(limit: 32),
                            customData: customData()))
                }
                sources.append(
                    DataSource(
                        name: name, description: chance(50) ? text(limit: 256, nonEmpty: false, controls: true) : nil,
                        customData: customData(), dataPoints: points))
            }
            let explicit = chance(50)
            let id = explicit ? text(limit: 36) : DataSourceConfiguration.derivedConfigurationID(sources)
            return (DataSourceConfiguration(configurationID: id, dataSources: sources), explicit)
        }
    }

    /// Writes the YAML subset: random indentation step, dash gap, key order (except customData),
    /// quoting style, comments, blank lines, CRLF and BOM.
    struct Emitter {
        var rng: XorShift
        let step: Int
        let dashGap: Int
        var lines: [String] = []

        init(rng: inout XorShift) {
            self.rng = XorShift(seed: rng.next())
            step = Int.random(in: 1...4, using: &rng)
            dashGap = Int.random(in: 1...3, using: &rng)
        }

        mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

        static func tree(_ configuration: DataSourceConfiguration, explicitID: Bool, pointIDs: Set<String>) -> Tree {
            func optional(_ key: String, _ value: String?) -> [(String, Tree)] {
                value.map { [(key, .text($0))] } ?? []
            }
            func custom(_ pairs: [(String, String)]) -> [(String, Tree)] {
                pairs.isEmpty ? [] : [("customData", .map(pairs.map { ($0.0, .text($0.1)) }))]
            }
            let sources = configuration.dataSources.map { source -> Tree in
                let points = source.dataPoints.map { point -> Tree in
                    .map(
                        (pointIDs.contains(point.id) ? [("id", .text(point.id))] : []) + [("name", .text(point.name))]
                            + optional("description", point.description)
                            + [("type", .text(point.type.rawValue)), ("unit", .text(point.unit))]
                            + custom(point.customData))
                }
                return .map(
                    [("name", .text(source.name))] + optional("description", source.description)
                        + custom(source.customData) + [("dataPoints", .list(points))])
            }
            return .map(
                (explicitID ? [("configurationId", .text(configuration.configurationID))] : []) + [
                    ("dataSources", .list(sources))
                ])
        }

        /// A scalar in a style that keeps its text: plain when safe (sometimes anyway quoted), else quoted.
        mutating func scalar(_ text: String) -> String {
            let canSingle = !text.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }
            if Self.plainIsSafe(text) && chance(60) { return text }
            if canSingle && chance(40) { return "'" + text.replacing("'", with: "''") + "'" }
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += chance(50) ? "\\t" : "\t"
                case "\r": out += "\\r"
                case "/" where chance(50): out += "\\/"
                case _ where !scalar.isASCII && chance(30):
                    let hex = String(scalar.value, radix: 16, uppercase: chance(50))
                    out +=
                        scalar.value > 0xFFFF
                        ? "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
                        : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }

        static func plainIsSafe(_ text: String) -> Bool {
            guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
            return !"-?:,[]{}#&*!|>'\"%@`~ \t".unicodeScalars.contains(first) && last != " " && last != ":"
                && last != "\t"
                && !text.contains(": ") && !text.contains(" #") && !text.unicodeScalars.contains { $0.value < 0x20 }
                && !["null", "Null", "NULL", "---", "..."].contains(text)
        }

        mutating func comment(indent: Int) {
            if chance(8) { lines.append("") }
            if chance(8) {
                lines.append(
                    String(repeating: " ", count: indent) + "# "
                        + (chance(50) ? "comment: with - [flow] 'quotes'" : "#"))
            }
        }

        mutating func trailing() -> String { chance(15) ? "   # trailing: \"x\" #" : "" }

        mutating func write(_ tree: Tree, indent: Int, firstPrefix: String? = nil, shuffle: Bool) {
            switch tree {
            case .map(var entries):
                if shuffle { entries.shuffle(using: &rng) }
                for (index, (key, value)) in entries.enumerated() {
                    if index > 0 || firstPrefix == nil { comment(indent: indent) }
                    let prefix = index == 0 && firstPrefix != nil ? firstPrefix! : String(repeating: " ", count: indent)
                    let keyText = shuffle ? key : scalar(key)  // schema keys plain; customData keys in any style
                    switch value {
                    case .text(let text):
                        lines.append(
                            prefix + keyText + ":" + String(repeating: " ", count: chance(10) ? 3 : 1) + scalar(text)
                                + trailing())
                    case .map:
                        lines.append(prefix + keyText + ":" + trailing())
                        write(value, indent: indent + step, shuffle: false)
                    case .list:
                        lines.append(prefix + keyText + ":" + trailing())
                        write(value, indent: indent + step, shuffle: true)
                    }
                }
            case .list(let items):
                for item in items {
                    comment(indent: indent)
                    write(
                        item, indent: indent + 1 + dashGap,
                        firstPrefix: String(repeating: " ", count: indent) + "-"
                            + String(repeating: " ", count: dashGap), shuffle: true)
                }
            case .text:
                preconditionFailure("a document is a mapping")
            }
        }

        mutating func document(_ tree: Tree) -> [UInt8] {
            write(tree, indent: 0, shuffle: true)
            let newline = chance(30) ? "\r\n" : "\n"
            let text = lines.joined(separator: newline) + (chance(80) ? newline : "")
            return (chance(20) ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8)
        }
    }

    /// GIVEN 200 random valid configurations (seeded) WHEN written in the YAML subset and parsed THEN each parses to
    /// the model it was written from, and its canonical JSON reads back the same.
    func testRandomConfigurationsRoundTrip() throws {
        var seeds = XorShift(seed: 0x5EED_DA7A_50CE)
        for round in 0..<200 {
            let seed = seeds.next()
            var generator = Generator(rng: XorShift(seed: seed))
            let (model, explicitID) = generator.configuration()
            let explicitPointIDs = Set(model.dataSources.flatMap(\.dataPoints).map(\.id).filter { $0.hasPrefix("id-") })
            var emitter = Emitter(rng: &generator.rng)
            let bytes = emitter.document(Emitter.tree(model, explicitID: explicitID, pointIDs: explicitPointIDs))
            let context = "round \(round), seed \(seed):\n\(String(decoding: bytes, as: UTF8.self))"
            do {
                let parsed = try DataSourceConfiguration.parse(bytes, file: "random.yaml")
                XCTAssertEqual(parsed, model, context)
                XCTAssertEqual(parsed.contentHash, model.contentHash, context)
                XCTAssertEqual(DataSourceConfiguration.fromCanonicalJSON(parsed.canonicalJSON), parsed, context)
            } catch {
                XCTFail("\(error)\n\(context)")
            }
        }
    }

    /// GIVEN the good corpus mutated 3,000 times (seeded: bytes flipped, indicators and tabs inserted, lines dropped or
    /// repeated) WHEN parsed THEN each result is a model or a ConfigurationError with a position inside the file, never
    /// a crash.
    func testMutatedFilesFailCleanly() throws {
        let corpus = try DataSourcesFixtures.names().filter { $0.hasPrefix("good_") }.map {
            try DataSourcesFixtures.read($0)
        }
        let inserts: [[UInt8]] = [
            "\t", "\"", "'", "#", ": ", "- ", "&a ", "*", "!", "[", "{", "|", "\\", "\\u", "---\n", "\n", "  ", "\r",
            "\u{FEFF}", "é", "\u{0}",
        ].map { Array($0.utf8) }
        // HUBAGENT_FUZZ_SECONDS turns the 3,000 runs into a timed campaign (with
        // HUBAGENT_FUZZ_SEED for a different sequence); CI keeps the short, fixed one.
        let environment = ProcessEnvironment.current
        let seconds = environment["HUBAGENT_FUZZ_SECONDS"].flatMap(Double.init)
        var rng = XorShift(seed: environment["HUBAGENT_FUZZ_SEED"].flatMap(UInt64.init) ?? 0xF022)
        let deadline = SystemWallClock().now() + (seconds ?? 0)
        var accepted = 0
        var executions = 0
        while seconds == nil ? executions < 3000 : SystemWallClock().now() < deadline {
            executions += 1
            var bytes = corpus.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0...bytes.count, using: &rng)
                switch rng.next() % 4 {
                case 0 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.insert(contentsOf: inserts.randomElement(using: &rng)!, at: at)
                case 2 where at < bytes.count:
                    bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...20, using: &rng)))
                default:
                    let lineStart = bytes[..<at].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
                    let lineEnd = bytes[at...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
                    bytes.insert(contentsOf: Array(bytes[lineStart..<lineEnd]), at: lineStart)
                }
            }
            do {
                let configuration = try DataSourceConfiguration.parse(bytes, file: "m.yaml")
                XCTAssertEqual(DataSourceConfiguration.fromCanonicalJSON(configuration.canonicalJSON), configuration)
                accepted += 1
            } catch {
                let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
                if let line = error.line {
                    XCTAssertTrue((1...lines).contains(line), "\(error)")
                    XCTAssertGreaterThanOrEqual(error.column ?? 0, 1, "\(error)")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 0, "some mutations keep the file valid")
        if seconds != nil {
            print("mutation campaign: \(executions) executions, \(accepted) accepted, corpus \(corpus.count) files")
        }
    }
}
