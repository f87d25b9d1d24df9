import Crypto
import JSON
import XCTest

@testable import Agent

/// The validated model: canonical JSON, hashes, reading the server's copy, limits.
final class DataSourcesModelTests: XCTestCase {
    /// A configuration of `sources` × `points` with ids omitted, as the operator would write it.
    static func yaml(sources: Int, points: Int) -> String {
        var text = "configurationId: big\ndataSources:\n"
        for s in 0..<sources {
            text += "  - name: Source \(s)\n    description: generated\n    dataPoints:\n"
            for p in 0..<points {
                let type = DataPointType.allCases[p % DataPointType.allCases.count].rawValue
                text +=
                    "      - name: Point \(p)  # comment\n        type: \(type)\n        unit: \"°C\"\n        "
                    + "description: 'point \(p) of source \(s)'\n"
            }
        }
        return text
    }

    /// GIVEN a point without description or customData WHEN serialized THEN those members are left out and the order is
    /// the protocol's.
    func testCanonicalJSONOmitsAbsentMembers() throws {
        let configuration = try DataSourceConfiguration.parse(
            "configurationId: c\ndataSources:\n  - name: S\n    dataPoints:\n      - unit: ''\n        type: INT\n     "
                + "   id: p\n        name: N\n"
        )
        XCTAssertEqual(
            configuration.canonicalJSON.serialized,
            #"{"configurationId":"c","dataSources":[{"name":"S","dataPoints":"#
                + #"[{"id":"p","name":"N","type":"INT","unit":""}]}]}"#
        )
        XCTAssertEqual(configuration.contentHash, SHA256.hexHash(Array(configuration.canonicalJSON.serialized.utf8)))
    }

    /// GIVEN the server's copy from GET with `id`, `eTag`, null optionals and unknown members WHEN read THEN it equals
    /// the file's model.
    func testFromCanonicalJSONToleratesServerMembers() throws {
        let configuration = try DataSourceConfiguration.parse(
            Array(try DataSourcesFixtures.read("good_design_example.yaml")), file: "f")
        let server = try JSONValue.parse(
            #"""
            {"id":"c3b7d31d-e966-46e6-9db1-d4b3e8c90d7b","eTag":"2","configurationId":"gateway-line-1",
             "dataSources":[{"name":"Boiler","description":"Steam boiler sensors",
               "customData":{"site":"Ingolstadt"},"extra":1,
               "dataPoints":[{"id":"dp-boiler-temp","name":"Temperature","description":"Water temperature",
                              "type":"DOUBLE","unit":"°C","customData":null,"qualityEnabled":true}]}]}
            """#)
        XCTAssertEqual(DataSourceConfiguration.fromCanonicalJSON(server), configuration)
    }

    /// GIVEN server copies that cannot equal any file WHEN read THEN nil, so the caller overwrites them.
    func testFromCanonicalJSONRefusesUnusableCopies() throws {
        let point = #"{"id":"p","name":"N","type":"INT","unit":""}"#
        for text in [
            #"{"id":"x","eTag":"0"}"#,  // a never-configured agent
            #"{"configurationId":"c"}"#,
            #"{"configurationId":"c","dataSources":[{"name":"S"}]}"#,
            #"{"configurationId":"c","dataSources":[{"name":"S","dataPoints":"#
                + #"[{"id":"p","name":"N","type":"int","unit":""}]}]}"#,
            #"{"configurationId":"c","dataSources":[{"name":"S","dataPoints":[{"id":"p","name":"N","type":"INT"}]}]}"#,
            #"{"configurationId":"c","dataSources":[{"name":"S","customData":{"n":1},"dataPoints":[\#(point)]}]}"#,
            #"{"configurationId":"c","dataSources":[{"name":"S","description":7,"dataPoints":[\#(point)]}]}"#,
        ] {
            XCTAssertNil(DataSourceConfiguration.fromCanonicalJSON(try JSONValue.parse(text)), text)
        }
        XCTAssertNotNil(
            DataSourceConfiguration.fromCanonicalJSON(
                try JSONValue.parse(#"{"configurationId":"c","dataSources":[{"name":"S","dataPoints":[\#(point)]}]}"#)))
    }

    /// GIVEN one changed unit, or customData in another order WHEN compared THEN the models, hashes and derived
    /// configuration ids differ.
    func testChangesChangeHashAndDerivedID() throws {
        let base =
            "dataSources:\n  - name: S\n    customData:\n      a: 1\n      b: 2\n    dataPoints:\n      - name: N\n    "
            + "    type: INT\n        unit: s\n"
        let original = try DataSourceConfiguration.parse(base)
        for changed in [
            base.replacing("unit: s", with: "unit: ms"),
            base.replacing("a: 1\n      b: 2", with: "b: 2\n      a: 1"),
        ] {
            let other = try DataSourceConfiguration.parse(changed)
            XCTAssertNotEqual(other, original)
            XCTAssertNotEqual(other.contentHash, original.contentHash)
            XCTAssertNotEqual(other.configurationID, original.configurationID)
        }
        // Comments, quoting and indentation are not content.
        let restyled = try DataSourceConfiguration.parse(
            "# c\ndataSources:\n    -   name: \"S\"\n        customData:\n            'a': \"1\"\n            b: '2'\n "
                + "       dataPoints:\n            -   unit: s\n                name: N # c\n                type: "
                + "INT\n"
        )
        XCTAssertEqual(restyled, original)
        XCTAssertEqual(restyled.contentHash, original.contentHash)
    }

    /// GIVEN an explicit id equal to the derived one WHEN parsed THEN the configuration is the same as without it.
    func testExplicitIDEqualToDerivedIsTheSameContent() throws {
        let derived = DataSourceConfiguration.derivedPointID(source: "S", point: "N")
        let without = try DataSourceConfiguration.parse(
            "dataSources:\n  - name: S\n    dataPoints:\n      - name: N\n        type: INT\n        unit: s\n")
        let with = try DataSourceConfiguration.parse(
            "dataSources:\n  - name: S\n    dataPoints:\n      - id: \(derived)\n        name: N\n        type: INT\n  "
                + "      unit: s\n"
        )
        XCTAssertEqual(with, without)
    }

    /// GIVEN an explicit id that another point's derived id already took WHEN parsed THEN refused at the second point's
    /// name.
    func testExplicitAndDerivedIDCollide() throws {
        let derived = DataSourceConfiguration.derivedPointID(source: "S", point: "N")
        let text =
            "dataSources:\n  - name: S\n    dataPoints:\n      - id: \(derived)\n        name: M\n        type: INT\n  "
            + "      unit: s\n      - name: N\n        type: INT\n        unit: s\n"
        assertRefused(try DataSourceConfiguration.parse(text), line: 8, column: 15, "is used twice: first at line 4")
    }

    /// GIVEN 64 Cyrillic letters and 33 emoji (66 UTF-16 units) as a name WHEN parsed THEN the first is accepted, the
    /// second refused.
    func testLengthsCountUTF16() throws {
        func file(_ name: String) -> String {
            "dataSources:\n  - name: \(name)\n    dataPoints:\n      - name: N\n        type: INT\n        unit: s\n"
        }
        XCTAssertEqual(
            try DataSourceConfiguration.parse(file(String(repeating: "Ж", count: 64))).dataSources[0].name.count, 64)
        assertRefused(
            try DataSourceConfiguration.parse(file(String(repeating: "😀", count: 33))), line: 2, column: 11,
            "is 66 characters long; at most 64")
    }

    /// GIVEN an empty customData key, or a control character in a unit WHEN parsed THEN refused at it.
    func testCustomDataKeyAndUnitRules() throws {
        assertRefused(
            try DataSourceConfiguration.parse("dataSources:\n  - name: S\n    customData:\n      '': x\n"), line: 4,
            column: 7, "a customData key is empty")
        let unit =
            "dataSources:\n  - name: S\n    dataPoints:\n      - name: N\n        type: INT\n        unit: \"\\t\"\n"
        assertRefused(try DataSourceConfiguration.parse(unit), line: 6, column: 15, "unit contains a control character")
    }

    /// GIVEN 2,000 data points WHEN parsed THEN accepted; 2,001 THEN refused at the 2,001st point.
    func testDataPointLimit() throws {
        XCTAssertEqual(try DataSourceConfiguration.parse(Self.yaml(sources: 4, points: 500)).summary.points, 2000)
        let over =
            Self.yaml(sources: 4, points: 500)
            + "  - name: One more\n    dataPoints:\n      - name: P\n        type: INT\n        unit: \"\"\n"
        let line = over.split(separator: "\n", omittingEmptySubsequences: false).count - 3
        assertRefused(try DataSourceConfiguration.parse(over), line: line, column: 9, "more than 2000 data points")
    }

    /// GIVEN a 500-point configuration (about 2,500 lines) WHEN parsed THEN it takes well under a second, and every id
    /// is distinct.
    func testFiveHundredPointsParseQuickly() throws {
        let bytes = Array(Self.yaml(sources: 10, points: 50).utf8)
        let clock = ContinuousClock()
        var configuration: DataSourceConfiguration?
        let elapsed = try clock.measure { configuration = try DataSourceConfiguration.parse(bytes, file: "big.yaml") }
        let summary = try XCTUnwrap(configuration).summary
        XCTAssertEqual(summary.points, 500)
        XCTAssertEqual(summary.sources, 10)
        XCTAssertEqual(Set(configuration!.dataSources.flatMap(\.dataPoints).map(\.id)).count, 500)
        XCTAssertLessThan(elapsed, .milliseconds(250), "\(elapsed) for \(bytes.count) bytes")
        print("500-point configuration (\(bytes.count) bytes) parsed in \(elapsed)")
    }
}

/// Errors quote what they found; what they found may be huge or hold control characters.
final class ConfigurationErrorBoundsTests: XCTestCase {
    /// GIVEN a data point whose type is a 1 MB value with an escape sequence WHEN validated THEN the error keeps its
    /// file:line:column, stays under 1,000 characters and shows no control character.
    func testHugeBadValueGivesAShortError() throws {
        let huge = "\u{1B}[2J" + String(repeating: "x", count: 1000 * 1000)
        let text = """
            configurationId: c
            dataSources:
              - name: S
                dataPoints:
                  - name: N
                    type: "\(huge.replacingOccurrences(of: "\u{1B}", with: "\\e"))"
                    unit: ""

            """
        XCTAssertThrowsError(try DataSourceConfiguration.parse(Array(text.utf8), file: "datasources.yaml")) { error in
            let description = (error as? ConfigurationError)?.description ?? ""
            XCTAssertTrue(description.hasPrefix("datasources.yaml:6:"), String(description.prefix(80)))
            XCTAssertLessThan(description.count, 1000)
            XCTAssertFalse(description.unicodeScalars.contains { $0.isControlCharacter }, description)
        }
    }
}
