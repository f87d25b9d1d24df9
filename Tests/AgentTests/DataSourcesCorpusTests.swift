import XCTest

@testable import Agent

/// The corpus under `Fixtures/datasources/`: every `good_*` file parses to the expected model,
/// every `bad_*` file is refused at the expected place with the expected words.
final class DataSourcesCorpusTests: XCTestCase {
    /// bad file → (line, column, text in the message or fix). One file per refused feature or rule.
    static let refusals: [String: (line: Int?, column: Int?, text: String)] = [
        // The YAML subset
        "bad_tab_indent.yaml": (5, 1, "indent with spaces, not tabs"),
        "bad_anchor.yaml": (8, 15, "anchors (`&name`) are not supported"),
        "bad_alias.yaml": (8, 15, "aliases (`*name`) are not supported"),
        "bad_tag.yaml": (5, 15, "tags (`!…`) are not supported"),
        "bad_flow_sequence.yaml": (1, 14, "write the list as `- ` lines"),
        "bad_flow_mapping.yaml": (7, 17, "write the mapping as indented `key: value` lines"),
        "bad_literal_block.yaml": (3, 18, "block scalars (`|`, `>`) are not supported"),
        "bad_folded_block.yaml": (3, 18, "block scalars (`|`, `>`) are not supported"),
        "bad_document_start.yaml": (1, 1, "`---` marks a YAML document boundary"),
        "bad_document_end.yaml": (7, 1, "`...` marks a YAML document boundary"),
        "bad_directive.yaml": (1, 1, "YAML directives"),
        "bad_duplicate_key.yaml": (7, 9, "key `type` appears twice in this mapping; first at line 5"),
        "bad_misaligned_sibling.yaml": (6, 10, "indented deeper than `type` on line 5, which already has a value"),
        "bad_misaligned_dedent.yaml": (
            7, 4,
            "inconsistent indentation: this line starts at column 4; siblings must start at exactly the same column; "
                + "align it with the lines above (column 5 or 1)"
        ),
        "bad_child_not_deeper.yaml": (
            2, 1, "the `- ` items of `dataSources` are not indented deeper than `dataSources`"
        ),
        "bad_scalar_list.yaml": (2, 5, "a list item must be a mapping, found the plain value `Boiler`"),
        "bad_list_in_list.yaml": (2, 5, "a list inside a list is not supported"),
        "bad_dash_alone.yaml": (2, 3, "write the item's first key on the dash line"),
        "bad_list_on_key_line.yaml": (1, 14, "a list cannot start on its key's line"),
        "bad_unterminated_double.yaml": (6, 15, "unterminated double-quoted text"),
        "bad_unterminated_single.yaml": (2, 11, "unterminated single-quoted text"),
        "bad_unknown_escape.yaml": (2, 18, "unsupported escape `\\x`"),
        "bad_short_unicode_escape.yaml": (2, 19, "`\\u` needs 4 hex digits"),
        "bad_surrogate_escape.yaml": (2, 19, "`\\uD83D` is not a character that can be used here"),
        "bad_key_without_colon.yaml": (3, 5, "expected `key: value`, found `dataPoints`"),
        "bad_missing_space_after_colon.yaml": (2, 10, "a space is missing after `:`"),
        "bad_text_after_quote.yaml": (2, 20, "unexpected text after the closing quote"),
        "bad_colon_in_plain_value.yaml": (
            2, 17, "`: ` inside a plain value; put the value in double quotes: \"Boiler: north\""
        ),
        "bad_reserved_start.yaml": (6, 15, "a plain value cannot start with `%`; put it in double quotes: \"%\""),
        "bad_null_value.yaml": (7, 22, "`null` is YAML's null"),
        "bad_empty_value.yaml": (7, 9, "`description` has no value; write `description: \"\"` for empty text"),
        "bad_value_continues.yaml": (4, 7, "indented deeper than `description` on line 3, which already has a value"),
        "bad_non_utf8.yaml": (2, 18, "this line is not valid UTF-8"),
        "bad_control_character.yaml": (2, 14, "control character U+0007"),
        "bad_top_level_indented.yaml": (1, 3, "the top level is indented"),
        "bad_nesting_too_deep.yaml": (17, 17, "nesting deeper than 16 levels"),
        // The schema of docs/protocol.md §7
        "bad_top_level_list.yaml": (2, 1, "the top level must be a mapping with `dataSources:`, not a list"),
        "bad_empty_file.yaml": (nil, nil, "the file is empty"),
        "bad_lower_case_type.yaml": (5, 15, "type `double` must be written in upper case; write `type: DOUBLE`"),
        "bad_unknown_type.yaml": (
            5, 15, "unknown type `FLOAT`; use one of INT, LONG, DOUBLE, BOOLEAN, STRING, BIG_STRING, TIMESTAMP"
        ),
        "bad_unknown_key.yaml": (
            5, 9,
            "unknown key `tyep` in a data point; did you mean `type`? the keys here are id, name, description, type, "
                + "unit, customData"
        ),
        "bad_unknown_top_key.yaml": (
            1, 1, "unknown key `configurationID` at the top level; did you mean `configurationId`?"
        ),
        "bad_missing_data_sources.yaml": (1, 1, "`dataSources` is missing"),
        "bad_data_sources_not_list.yaml": (1, 14, "`dataSources` must be a list of data sources"),
        "bad_missing_source_name.yaml": (2, 5, "this data source has no `name`"),
        "bad_missing_data_points.yaml": (2, 5, "data source `Boiler` has no `dataPoints`"),
        "bad_data_points_not_list.yaml": (3, 5, "`dataPoints` must be a list of data points"),
        "bad_missing_point_name.yaml": (4, 9, "this data point has no `name`"),
        "bad_missing_type.yaml": (4, 9, "data point `Temperature` has no `type`"),
        "bad_missing_unit.yaml": (
            4, 9, "data point `Temperature` has no `unit`; add `unit: …`, or `unit: \"\"` when it has none"
        ),
        "bad_empty_name.yaml": (2, 11, "data source name is empty"),
        "bad_name_not_text.yaml": (2, 5, "`name` must be a single value"),
        "bad_source_name_too_long.yaml": (2, 11, "data source name is 65 characters long; at most 64 are allowed"),
        "bad_point_name_too_long.yaml": (4, 15, "data point name is 65 characters long; at most 64 are allowed"),
        "bad_description_too_long.yaml": (3, 18, "description is 257 characters long; at most 256 are allowed"),
        "bad_unit_too_long.yaml": (6, 15, "unit is 33 characters long; at most 32 are allowed"),
        "bad_configuration_id_too_long.yaml": (1, 18, "configurationId is 37 characters long; at most 36 are allowed"),
        "bad_point_id_too_long.yaml": (4, 13, "id is 37 characters long; at most 36 are allowed"),
        "bad_control_in_name.yaml": (2, 11, "data source name contains a control character"),
        "bad_duplicate_point_id.yaml": (10, 13, "id `dp-1` is used twice: first at line 4"),
        "bad_duplicate_derived_id.yaml": (
            7, 15, "data point `Temperature` appears twice in data source `Boiler` (first at line 4)"
        ),
        "bad_duplicate_source_name.yaml": (7, 11, "data source name `Boiler` is used twice: first at line 2"),
        "bad_custom_data_too_many.yaml": (9, 7, "more than 5 customData entries"),
        "bad_custom_data_nested.yaml": (4, 7, "`site` must be a single value"),
        "bad_custom_data_not_mapping.yaml": (3, 5, "`customData` must be a mapping"),
        "bad_custom_data_key_too_long.yaml": (4, 7, "customData key is 65 characters long; at most 64 are allowed"),
        "bad_custom_data_value_too_long.yaml": (
            4, 13, "customData value is 257 characters long; at most 256 are allowed"
        ),
    ]

    private func parse(_ name: String) throws -> DataSourceConfiguration {
        try DataSourceConfiguration.parse(try DataSourcesFixtures.read(name), file: name)
    }

    /// GIVEN the corpus directory WHEN listed THEN every bad file has a row in the table and every row a file.
    func testEveryBadFileHasAnExpectation() {
        let bad = Set(DataSourcesFixtures.names().filter { $0.hasPrefix("bad_") })
        XCTAssertGreaterThanOrEqual(bad.count, 20)
        XCTAssertEqual(bad, Set(Self.refusals.keys))
        XCTAssertGreaterThanOrEqual(DataSourcesFixtures.names().filter { $0.hasPrefix("good_") }.count, 7)
    }

    /// GIVEN each bad file WHEN parsed THEN it is refused at the expected line and column, naming the file, with the
    /// expected words.
    func testBadFilesAreRefusedWhereAndWhy() throws {
        for (name, expected) in Self.refusals.sorted(by: { $0.key < $1.key }) {
            let bytes = try DataSourcesFixtures.read(name)
            assertRefused(
                try DataSourceConfiguration.parse(bytes, file: name), line: expected.line, column: expected.column,
                expected.text, name)
            do {
                _ = try DataSourceConfiguration.parse(bytes, file: name)
            } catch {
                XCTAssertEqual(error.file, name)
                XCTAssertNotNil(error.fix, "\(name): every refusal tells what to write instead")
            }
        }
    }

    /// GIVEN every good file WHEN parsed THEN it is accepted and its canonical JSON reads back to the same model.
    func testEveryGoodFileParsesAndRoundTrips() throws {
        for name in DataSourcesFixtures.names() where name.hasPrefix("good_") {
            let configuration = try parse(name)
            XCTAssertEqual(DataSourceConfiguration.fromCanonicalJSON(configuration.canonicalJSON), configuration, name)
        }
    }

    /// GIVEN the example of docs/design.md §6, verbatim WHEN parsed THEN the model and the PUT body are exactly those
    /// of docs/protocol.md §7.
    func testDesignExample() throws {
        let configuration = try parse("good_design_example.yaml")
        XCTAssertEqual(
            configuration,
            DataSourceConfiguration(
                configurationID: "gateway-line-1",
                dataSources: [
                    DataSource(
                        name: "Boiler", description: "Steam boiler sensors", customData: [("site", "Ingolstadt")],
                        dataPoints: [
                            DataPoint(
                                id: "dp-boiler-temp", name: "Temperature", description: "Water temperature",
                                type: .double, unit: "°C")
                        ])
                ]))
        XCTAssertEqual(
            configuration.canonicalJSON.serialized,
            #"{"configurationId":"gateway-line-1","dataSources":[{"name":"Boiler","description":"Steam boiler "#
                + #"sensors","customData":{"site":"Ingolstadt"},"dataPoints":"#
                + #"[{"id":"dp-boiler-temp","name":"Temperature","description":"Water "#
                + #"temperature","type":"DOUBLE","unit":"°C"}]}]}"#
        )
        // Python: hashlib.sha256(<the line above>.encode()).hexdigest()
        XCTAssertEqual(configuration.contentHash, "7bf52b28089e0380f9acfb6c026025ecffe21f3ed2f4d892d7105af07b24d464")
    }

    /// GIVEN the example without configurationId and id WHEN parsed THEN both derived values are exactly the documented
    /// ones.
    func testDerivedIdentifiersAreStable() throws {
        let configuration = try parse("good_ids_omitted.yaml")
        // Python: "dp-" + sha256("Boiler\x1fTemperature").hexdigest()[:32]
        XCTAssertEqual(configuration.dataSources[0].dataPoints[0].id, "dp-8facfdd1a64ab2df8a53bad8569f3eb1")
        // Python: "cfg-" + sha256('{"dataSources":[…]}').hexdigest()[:32], compact JSON, ensure_ascii=False
        XCTAssertEqual(configuration.configurationID, "cfg-a4c9e3b8d0c7bbf45d2da2c7732b6b00")
        XCTAssertEqual(configuration.configurationID.count, 36)
        XCTAssertEqual(try parse("good_ids_omitted.yaml"), configuration)
    }

    /// GIVEN 4-space indentation with all seven types WHEN parsed THEN every source and point is read and the summary
    /// counts them.
    func testFourSpaceIndentation() throws {
        let configuration = try parse("good_four_space_indent.yaml")
        XCTAssertEqual(configuration.configurationID, "line-2")
        XCTAssertEqual(configuration.dataSources.map(\.name), ["Press", "Line controller"])
        XCTAssertEqual(configuration.dataSources[1].description, "PLC of line 2")
        XCTAssertEqual(
            configuration.dataSources[1].dataPoints.map(\.id),
            ["plc-count", "plc-state", "plc-log", "plc-clock", "plc-speed"])
        XCTAssertEqual(configuration.dataSources[1].dataPoints[1].unit, "")
        let summary = configuration.summary
        XCTAssertEqual(summary.sources, 2)
        XCTAssertEqual(summary.points, 7)
        XCTAssertEqual(summary.types, Dictionary(uniqueKeysWithValues: DataPointType.allCases.map { ($0, 1) }))
    }

    /// GIVEN plain, single- and double-quoted values with every escape WHEN parsed THEN each value is the unescaped
    /// text.
    func testQuotingStyles() throws {
        let configuration = try parse("good_quoting.yaml")
        XCTAssertEqual(configuration.configurationID, "quoting")
        let source = configuration.dataSources[0]
        XCTAssertEqual(source.name, #"Tank "A" \ north"#)
        XCTAssertEqual(source.description, "It's the tank # not a comment")
        XCTAssertEqual(source.customData.map(\.0), ["key: with colon", "single", "plain key"])
        XCTAssertEqual(
            source.customData.map(\.1),
            [
                "tab\there, newline\nthere, cr\r, slash / degree ° smile 😀",
                #"plain value with 'quotes' and "doubles""#, "a: b # c",
            ])
        XCTAssertEqual(
            source.dataPoints[0],
            DataPoint(id: "tank-level", name: "Level: high", description: #"50% "full""#, type: .double, unit: "%"))
        XCTAssertEqual(source.dataPoints[1], DataPoint(id: "tank-flag", name: "-flag#1 [x]", type: .boolean, unit: ""))
    }

    /// GIVEN comments on their own lines at any column, after values and after keys WHEN parsed THEN they are ignored,
    /// `#` inside values is kept.
    func testCommentsEverywhere() throws {
        let configuration = try parse("good_comments.yaml")
        XCTAssertEqual(configuration.configurationID, "line-3")
        XCTAssertEqual(configuration.dataSources.count, 1)
        XCTAssertEqual(configuration.dataSources[0].name, "Oven")
        XCTAssertEqual(configuration.dataSources[0].dataPoints.map(\.name), ["Heat#1", "Fan"])
        XCTAssertEqual(configuration.dataSources[0].dataPoints[0].unit, "°C # not a comment")
        XCTAssertEqual(configuration.dataSources[0].dataPoints[1].unit, "rpm")
    }

    /// GIVEN a file with a byte order mark and CRLF line ends WHEN parsed THEN it reads like the LF file, no `\r` in
    /// any value.
    func testByteOrderMarkAndCRLF() throws {
        let bytes = try DataSourcesFixtures.read("good_windows.yaml")
        XCTAssertEqual(Array(bytes.prefix(3)), [0xEF, 0xBB, 0xBF], "the fixture must keep its BOM")
        XCTAssertTrue(
            zip(bytes, bytes.dropFirst()).contains { $0 == 0x0D && $1 == 0x0A }, "the fixture must keep its CRLF")
        let configuration = try DataSourceConfiguration.parse(bytes, file: "good_windows.yaml")
        XCTAssertEqual(configuration.configurationID, "windows")
        let point = configuration.dataSources[0].dataPoints[0]
        XCTAssertEqual([configuration.dataSources[0].name, point.name, point.unit], ["Pump", "Pressure", "bar"])
        XCTAssertEqual(point.type, .double)
    }

    /// GIVEN names, units and customData in Cyrillic, CJK and Greek WHEN parsed THEN the text is kept and ids are
    /// derived from it.
    func testUnicode() throws {
        let configuration = try parse("good_unicode.yaml")
        let boiler = configuration.dataSources[0]
        XCTAssertEqual(boiler.name, "Котёл")
        XCTAssertEqual(boiler.description, "Паровой котёл, цех №2")
        XCTAssertTrue(boiler.customData.elementsEqual([("участок", "Северный"), ("場所", "東京工場")], by: { $0 == $1 }))
        XCTAssertEqual(boiler.dataPoints.map(\.name), ["Температура", "圧力"])
        XCTAssertEqual(boiler.dataPoints.map(\.unit), ["°C", "㎫"])
        XCTAssertEqual(boiler.dataPoints[1].description, "蒸気圧")
        XCTAssertEqual(
            boiler.dataPoints[0].id, DataSourceConfiguration.derivedPointID(source: "Котёл", point: "Температура"))
        XCTAssertEqual(configuration.dataSources[1].name, "傳感器 Ω")
        XCTAssertEqual(configuration.dataSources[1].dataPoints[0].type, .string)
        let ids = configuration.dataSources.flatMap(\.dataPoints).map(\.id)
        XCTAssertEqual(Set(ids).count, 3)
        XCTAssertTrue(
            ids.allSatisfy { $0.count == 35 && $0.hasPrefix("dp-") && $0.dropFirst(3).allSatisfy(\.isHexDigit) })
    }

    /// GIVEN indentation of 1, 2 and 5 spaces and extra spaces after `-` WHEN parsed THEN siblings group by column
    /// alone.
    func testAnyConsistentIndentation() throws {
        let configuration = try parse("good_odd_indentation.yaml")
        XCTAssertEqual(configuration.dataSources.map(\.name), ["One-space", "Two"])
        XCTAssertEqual(configuration.dataSources[0].description, "after the points")
        XCTAssertEqual(configuration.dataSources[0].dataPoints.map(\.name), ["Far"])
        XCTAssertEqual(
            configuration.dataSources[1].dataPoints[0],
            DataPoint(
                id: DataSourceConfiguration.derivedPointID(source: "Two", point: "Near"),
                name: "Near", type: .long, unit: "s"))
    }
}
