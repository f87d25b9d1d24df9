import XCTest

@testable import Agent

/// The YAML subset parser on its own: the node tree, positions, scalars, limits.
final class DataSourcesYAMLTests: XCTestCase {
    private func parse(_ text: String) throws -> YAMLNode {
        try YAMLSubset.parse(Array(text.utf8), file: "t.yaml")
    }

    /// GIVEN a mapping holding a sequence of mappings WHEN parsed THEN the tree carries each key's and scalar's line,
    /// column and quoting.
    func testTreeWithPositions() throws {
        let tree = try parse("a: x\n\nb:\n  - k: 'v'\n    m: \"w\"  # note\n  -   n: 7\n")
        XCTAssertEqual(
            tree,
            .mapping([
                ("a", 1, 1, .scalar("x", line: 1, column: 4, quoted: false)),
                (
                    "b", 3, 1,
                    .sequence([
                        .mapping([
                            ("k", 4, 5, .scalar("v", line: 4, column: 8, quoted: true)),
                            ("m", 5, 5, .scalar("w", line: 5, column: 8, quoted: true)),
                        ]),
                        .mapping([("n", 6, 7, .scalar("7", line: 6, column: 10, quoted: false))]),
                    ])
                ),
            ]))
    }

    /// GIVEN text before a value or an error in Cyrillic and CJK WHEN parsed THEN columns count characters, not bytes.
    func testColumnsCountCharacters() throws {
        XCTAssertEqual(try parse("名前: 値\n"), .mapping([("名前", 1, 1, .scalar("値", line: 1, column: 5, quoted: false))]))
        assertRefused(try parse("Имя: Котёл: x\n"), line: 1, column: 11, "`: ` inside a plain value")
        assertRefused(try parse("名前: \"東京\\q\"\n"), line: 1, column: 8, "unsupported escape `\\q`")
    }

    /// GIVEN a byte order mark and CRLF line ends WHEN parsed THEN neither shows in keys, values or columns.
    func testByteOrderMarkAndCRLF() throws {
        XCTAssertEqual(
            try parse("\u{FEFF}a: x\r\nb: 'y'\r\n"),
            .mapping([
                ("a", 1, 1, .scalar("x", line: 1, column: 4, quoted: false)),
                ("b", 2, 1, .scalar("y", line: 2, column: 4, quoted: true)),
            ]))
        assertRefused(try parse("a: x\ry\n"), line: 1, column: 5, "a carriage return in the middle of a line")
    }

    /// GIVEN every supported escape WHEN parsed THEN each becomes its character; `''` in single quotes is one quote.
    func testEscapes() throws {
        let tree = try parse(#"a: "q\" b\\ s\/ n\n t\t r\r u\u00b0 U\U0001F600 é""# + "\nb: 'it''s \\n'\n")
        XCTAssertEqual(
            tree,
            .mapping([
                ("a", 1, 1, .scalar("q\" b\\ s/ n\n t\t r\r u° U😀 é", line: 1, column: 4, quoted: true)),
                ("b", 2, 1, .scalar("it's \\n", line: 2, column: 4, quoted: true)),
            ]))
        assertRefused(try parse(#"a: "\0""#), line: 1, column: 5, "unsupported escape `\\0`")
        assertRefused(try parse(#"a: "\u0007""#), line: 1, column: 5, "not a character that can be used here")
        assertRefused(try parse(#"a: "\U00110000""#), line: 1, column: 5, "not a character that can be used here")
        assertRefused(try parse("a: \"x\\\n"), line: 1, column: 6, "a `\\` at the end of the line")
    }

    /// GIVEN plain text that YAML would type (numbers, booleans) or that starts with `-`, `?`, `:` WHEN parsed THEN it
    /// is kept as text.
    func testPlainScalarsAreText() throws {
        let tree = try parse("a: 123\nb: true\nc: -5\nd: ?x\ne: :x\nf: x#y\ng: a\tb\nh: http://x/y?z=1\n")
        guard case .mapping(let entries) = tree else { return XCTFail("\(tree)") }
        XCTAssertEqual(
            entries.map { entry -> String in
                if case .scalar(let text, _, _, false) = entry.value { return text }
                return "?"
            }, ["123", "true", "-5", "?x", ":x", "x#y", "a\tb", "http://x/y?z=1"])
    }

    /// GIVEN tabs on blank and comment lines and inside values WHEN parsed THEN accepted; a tab after `-` or before a
    /// key THEN refused.
    func testTabs() throws {
        XCTAssertEqual(
            try parse("a: x\n\t\n \t# c\n"), .mapping([("a", 1, 1, .scalar("x", line: 1, column: 4, quoted: false))]))
        assertRefused(
            try parse("a:\n  -\tk: v\n"), line: 2, column: 4, "separate `-` from the key with spaces, not tabs")
        assertRefused(try parse("a:\n \tk: v\n"), line: 2, column: 2, "indent with spaces, not tabs")
    }

    /// GIVEN `#` right after a closing quote, and a comment after a key WHEN parsed THEN the first is refused, the
    /// second ignored.
    func testCommentsNeedWhitespace() throws {
        assertRefused(try parse("a: \"x\"#c\n"), line: 1, column: 7, "put a space before `#`")
        XCTAssertEqual(
            try parse("a: # c\n  b: x\n"),
            .mapping([("a", 1, 1, .mapping([("b", 2, 3, .scalar("x", line: 2, column: 6, quoted: false))]))]))
    }

    /// GIVEN quoted keys WHEN parsed THEN the key is unescaped; a quoted key without `:` THEN refused at the missing
    /// colon.
    func testQuotedKeys() throws {
        XCTAssertEqual(
            try parse("\"a: b\": 1\n'': 2\n"),
            .mapping([
                ("a: b", 1, 1, .scalar("1", line: 1, column: 9, quoted: false)),
                ("", 2, 1, .scalar("2", line: 2, column: 5, quoted: false)),
            ]))
        assertRefused(try parse("\"a\" b: 1\n"), line: 1, column: 5, "expected `:` after the quoted key")
    }

    /// GIVEN an item line followed by a key at the dash's column WHEN parsed THEN refused with the column that
    /// continues the item.
    func testKeyAtDashColumn() throws {
        assertRefused(
            try parse("a:\n  - k: v\n  m: w\n"), line: 3, column: 3, "align `m` with its first key at column 5")
    }

    /// GIVEN 16 nested mappings WHEN parsed THEN accepted; 17 THEN refused at the 17th; nested items count as levels
    /// too.
    func testNestingLimit() throws {
        func chain(_ levels: Int) -> String {
            (0..<levels - 1).map { String(repeating: " ", count: $0) + "k\($0):\n" }.joined()
                + String(repeating: " ", count: levels - 1) + "leaf: x\n"
        }
        XCTAssertNoThrow(try parse(chain(16)))
        assertRefused(try parse(chain(17)), line: 17, column: 17, "nesting deeper than 16 levels")
        // Each list adds two levels, the sequence and its item's mapping: the 7th item's mapping is level 15, the 8th's
        // level 17.
        func lists(_ items: Int) -> String {
            "k:\n" + (1..<items).map { String(repeating: " ", count: 4 * $0 - 2) + "- k:\n" }.joined()
                + String(repeating: " ", count: 4 * items - 2) + "- leaf: x\n"
        }
        XCTAssertNoThrow(try parse(lists(7)))
        assertRefused(try parse(lists(8)), line: 9, column: 33, "nesting deeper than 16 levels")
    }

    /// GIVEN a file of exactly 1 MiB WHEN parsed THEN accepted; one byte more THEN refused before reading it.
    func testSizeLimit() throws {
        let head =
            "dataSources:\n  - name: B\n    dataPoints:\n      - name: T\n        type: INT\n        unit: \"\"\n"
        var bytes = Array(head.utf8)
        let line = Array(("#" + String(repeating: "x", count: 62) + "\n").utf8)
        while bytes.count + line.count <= YAMLSubset.maximumBytes { bytes += line }
        bytes += Array(repeating: UInt8(ascii: " "), count: YAMLSubset.maximumBytes - bytes.count)
        XCTAssertEqual(bytes.count, 1 << 20)
        XCTAssertEqual(try DataSourceConfiguration.parse(bytes, file: "big.yaml").summary.points, 1)
        assertRefused(
            try DataSourceConfiguration.parse(bytes + [0x0A], file: "big.yaml"), line: nil, column: nil, "at most 1 MiB"
        )
    }

    /// GIVEN an empty file or only comments WHEN parsed THEN an empty mapping (the schema refuses it).
    func testEmptyDocument() throws {
        XCTAssertEqual(try parse(""), .mapping([]))
        XCTAssertEqual(try parse("\u{FEFF}# only a comment\n\n"), .mapping([]))
    }

    /// GIVEN a plain `~` or `Null` value WHEN parsed THEN refused; quoted THEN the text.
    func testNullIsRefusedUnlessQuoted() throws {
        assertRefused(try parse("a: ~\n"), line: 1, column: 4, "`~` is YAML's null")
        assertRefused(try parse("a: Null # c\n"), line: 1, column: 4, "`Null` is YAML's null")
        XCTAssertEqual(
            try parse("a: \"null\"\n"), .mapping([("a", 1, 1, .scalar("null", line: 1, column: 4, quoted: true))]))
    }
}
