import Platform

/// A node of `datasources.yaml` with where it starts, so the validator can point at the
/// offending spot. Mappings and sequences are located by their first key (`Entry.line/column`).
enum YAMLNode: Equatable, Sendable {
    typealias Entry = (key: String, line: Int, column: Int, value: YAMLNode)

    case mapping([Entry])
    case sequence([YAMLNode])
    /// `quoted` is true for `'…'` and `"…"`; the text is already unescaped.
    case scalar(String, line: Int, column: Int, quoted: Bool)

    static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool {
        switch (lhs, rhs) {
        case (.mapping(let a), .mapping(let b)):
            return a.count == b.count
                && zip(a, b).allSatisfy {
                    $0.key == $1.key && $0.line == $1.line && $0.column == $1.column && $0.value == $1.value
                }
        case (.sequence(let a), .sequence(let b)): return a == b
        case (.scalar(let a, let l1, let c1, let q1), .scalar(let b, let l2, let c2, let q2)):
            return a == b && l1 == l2 && c1 == c2 && q1 == q2
        default: return false
        }
    }
}

/// The YAML subset of `datasources.yaml` (docs/design.md §6), written for that file and nothing more.
///
/// Accepted: block mappings; block sequences whose items are mappings (`- key: value`, the
/// mapping continuing on the next lines at the key's column); plain, single-quoted (`''`) and
/// double-quoted scalars (escapes `\" \\ \/ \n \t \r \uXXXX \UXXXXXXXX`); `#` comments on their own
/// line or after whitespace; blank lines; any indentation in spaces where a child is deeper than its
/// parent and siblings share a column; UTF-8 with an optional byte order mark; LF or CRLF.
///
/// Everything else is refused with the line and column (in characters) and what to write instead:
/// tabs in indentation, anchors, aliases, tags, flow `{}`/`[]`, block scalars `|`/`>`, `---`/`...`,
/// directives, duplicate keys, misaligned lines, lists of plain values, multi-line values, values
/// that continue on the next line. The subset is meant to stay YAML 1.2 that a general YAML parser
/// reads to the same strings, except that plain `123` or `true` are text here.
///
/// Decisions where the brief was open:
/// - `key:` with neither a value nor an indented block under it is an error; empty text is `""`.
/// - A plain `null`, `Null`, `NULL` or `~` is an error: it is YAML's "no value", and hubagent has no
///   null. Quote it for the text, or leave the key out.
/// - `-` alone on a line and a sequence at its key's column (`key:` then `- …` at the same column)
///   are refused: the first key goes on the dash line, and a child is always indented deeper.
/// - The top level starts at column 1. Tabs on blank or comment-only lines are ignored.
/// - Control characters (other than tab) are refused anywhere in the file, quoted or not.
enum YAMLSubset {
    /// A data source configuration of 2,000 points is about 250 KiB; 1 MiB leaves room for comments.
    static let maximumBytes = Layout.Limit.dataSources
    /// Six levels are needed (configuration, sources, source, points, point, customData); a limit
    /// keeps a hostile file from exhausting the stack.
    static let maximumDepth = 16

    static func parse(_ bytes: [UInt8], file: String) throws(ConfigurationError) -> YAMLNode {
        guard bytes.count <= maximumBytes else {
            throw ConfigurationError(
                file: file,
                message: "the file is \(bytes.count) bytes long; at most 1 MiB (\(maximumBytes) bytes) is read",
                fix: "a configuration of 2,000 data points needs about a quarter of that; remove unused sources")
        }
        var parser = YAMLParser(bytes: bytes, file: file)
        return try parser.parseDocument()
    }
}

/// One line that holds content. Its key and value are read when the line's place in the
/// structure is known, so a misplaced line is reported as such rather than by its content.
private struct Line {
    let number: Int
    let text: [Unicode.Scalar]
    /// Zero-based column of the first character: the `-` of an item, else the key.
    var indent: Int
    /// True for `- key: …` until the sequence consumes the dash; the line then stands for the
    /// first entry of the item's mapping, at the key's column.
    var isItem: Bool
    /// Whether the line starts with `- `, also after the sequence consumed the dash.
    let hasDash: Bool
    let keyIndent: Int
}

private struct YAMLParser {
    let bytes: [UInt8]
    let file: String
    var offset = 0
    var lineNumber = 0
    var peeked: Line?
    /// Zero-based columns of the blocks that enclose the current one, for alignment hints.
    var open: [Int] = []

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }  // a byte order mark from an editor
    }

    func fail(_ line: Int, _ column: Int?, _ message: String, _ fix: String? = nil) -> ConfigurationError {
        ConfigurationError(file: file, line: line, column: column, message: message, fix: fix)
    }

    // MARK: Structure

    mutating func parseDocument() throws(ConfigurationError) -> YAMLNode {
        guard let first = try peek() else { return .mapping([]) }
        guard first.indent == 0 else {
            throw fail(
                first.number, first.indent + 1, "the top level is indented", "start the top-level keys at column 1")
        }
        let root = try parseBlock(indent: 0, depth: 1)
        if let extra = try peek() { throw misaligned(extra) }  // unreachable: the root takes every line at column ≥ 1
        return root
    }

    mutating func parseBlock(indent: Int, depth: Int) throws(ConfigurationError) -> YAMLNode {
        guard let line = try peek() else { return .mapping([]) }
        guard depth <= YAMLSubset.maximumDepth else {
            throw fail(
                line.number, indent + 1, "nesting deeper than \(YAMLSubset.maximumDepth) levels",
                "datasources.yaml needs six levels at most")
        }
        open.append(indent)
        defer { open.removeLast() }
        return line.isItem
            ? try parseSequence(indent: indent, depth: depth) : try parseMapping(indent: indent, depth: depth)
    }

    mutating func parseMapping(indent: Int, depth: Int) throws(ConfigurationError) -> YAMLNode {
        var entries: [YAMLNode.Entry] = []
        var firstLine: [String: Int] = [:]
        var lastScalar: (key: String, line: Int)?
        var lastChild: Int?
        while let line = try peek(), line.indent >= indent {
            if line.indent > indent {
                if let lastScalar {
                    throw fail(
                        line.number, line.indent + 1,
                        "this line is indented deeper than `\(lastScalar.key)` on line \(lastScalar.line), which "
                            + "already has a value",
                        "a value must fit on its line (in double quotes, \\n writes a line break); or align this line "
                            + "with `\(lastScalar.key)` at column \(indent + 1)"
                    )
                }
                throw misaligned(line, also: lastChild)
            }
            if line.isItem {
                throw fail(
                    line.number, line.indent + 1, "a `- ` list item where a `key: value` line was expected",
                    "a list belongs under a key, indented deeper than that key")
            }
            peeked = nil
            let (key, value) = try lexEntry(line)
            let column = line.keyIndent + 1
            if let first = firstLine[key] {
                throw fail(
                    line.number, column, "key `\(key)` appears twice in this mapping; first at line \(first)",
                    "remove one of them")
            }
            firstLine[key] = line.number
            if let value {
                entries.append(
                    (
                        key, line.number, column,
                        .scalar(value.text, line: line.number, column: value.column, quoted: value.quoted)
                    ))
                lastScalar = (key, line.number)
                continue
            }
            lastScalar = nil
            guard let next = try peek(), next.indent > indent else {
                if let next = try peek(), next.indent == indent, next.isItem {
                    throw fail(
                        next.number, next.indent + 1,
                        "the `- ` items of `\(key)` are not indented deeper than `\(key)`",
                        "indent the items under `\(key):`, e.g. by two more spaces")
                }
                throw fail(
                    line.number, column, "`\(key)` has no value",
                    "write `\(key): \"\"` for empty text, or indent its contents under it")
            }
            lastChild = next.indent
            entries.append((key, line.number, column, try parseBlock(indent: next.indent, depth: depth + 1)))
        }
        return .mapping(entries)
    }

    mutating func parseSequence(indent: Int, depth: Int) throws(ConfigurationError) -> YAMLNode {
        var items: [YAMLNode] = []
        var lastKeyIndent: Int?
        while var line = try peek(), line.indent >= indent {
            guard line.indent == indent else { throw misaligned(line, also: lastKeyIndent) }
            guard line.isItem else {
                let key = (try? lexKey(line.text, line.keyIndent, number: line.number, inItem: false))?.0 ?? "key"
                let hint =
                    lastKeyIndent.map {
                        "to continue the item above, align `\(key)` with its first key at column \($0 + 1); "
                    } ?? ""
                throw fail(
                    line.number, line.indent + 1, "a `key: value` line where a `- ` list item was expected",
                    hint + "to start a new item, write `- \(key): …`")
            }
            guard depth + 1 <= YAMLSubset.maximumDepth else {
                throw fail(
                    line.number, line.keyIndent + 1, "nesting deeper than \(YAMLSubset.maximumDepth) levels",
                    "datasources.yaml needs six levels at most")
            }
            // The item's mapping starts on this line, at the key's column.
            line.isItem = false
            line.indent = line.keyIndent
            peeked = line
            lastKeyIndent = line.keyIndent
            open.append(line.keyIndent)
            items.append(try parseMapping(indent: line.keyIndent, depth: depth + 1))
            open.removeLast()
        }
        return .sequence(items)
    }

    /// A line whose column matches none of the blocks it could belong to.
    func misaligned(_ line: Line, also deeper: Int? = nil) -> ConfigurationError {
        let columns = ((deeper.map { [$0] } ?? []) + open.reversed()).map { String($0 + 1) }
        var seen = Set<String>()
        let choices = columns.filter { seen.insert($0).inserted }
        return fail(
            line.number, line.indent + 1, "inconsistent indentation: this line starts at column \(line.indent + 1)",
            "siblings must start at exactly the same column; align it with the lines above (column "
                + "\(choices.joined(separator: " or ")))"
        )
    }

    // MARK: Lines

    /// The next line with content, lexed; blank and comment lines are skipped.
    mutating func peek() throws(ConfigurationError) -> Line? {
        if let peeked { return peeked }
        while offset < bytes.count {
            var end = offset
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            let range = offset..<end
            offset = end + 1
            lineNumber += 1
            if let line = try lex(bytes[range], number: lineNumber) {
                peeked = line
                return line
            }
        }
        return nil
    }

    func decode(_ raw: ArraySlice<UInt8>, number: Int) throws(ConfigurationError) -> [Unicode.Scalar] {
        if let valid = String(validating: raw, as: UTF8.self) { return Array(valid.unicodeScalars) }
        // Not UTF-8: decode again scalar by scalar to find the column of the first bad byte.
        var text: [Unicode.Scalar] = []
        text.reserveCapacity(raw.count)
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = raw.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): text.append(Unicode.UTF8.decode(encoded))
            case .emptyInput: return text
            case .error:
                throw fail(
                    number, column(text, text.count), "this line is not valid UTF-8",
                    "save the file as UTF-8 (most editors offer it under \"Save as\" or \"Encoding\")")
            }
        }
    }

    func lex(_ raw: ArraySlice<UInt8>, number: Int) throws(ConfigurationError) -> Line? {
        var text = try decode(raw, number: number)
        if text.last == "\r" { text.removeLast() }
        for index in text.indices where isControl(text[index]) {
            let scalar = text[index]
            let hex = String(scalar.value, radix: 16, uppercase: true)
            if scalar == "\r" {
                throw fail(
                    number, column(text, index), "a carriage return in the middle of a line",
                    "end lines with LF or CRLF")
            }
            throw fail(
                number, column(text, index),
                "control character U+\(String(repeating: "0", count: 4 - hex.count) + hex)",
                "remove it; in double quotes write \\n, \\t or \\uXXXX instead")
        }
        var index = 0
        while index < text.count, text[index] == " " { index += 1 }
        if index == text.count || text[index] == "#" { return nil }
        if text[index] == "\t" {
            var rest = index
            while rest < text.count, isBlank(text[rest]) { rest += 1 }
            if rest == text.count || text[rest] == "#" { return nil }
            throw fail(number, index + 1, "a tab in the indentation", "indent with spaces, not tabs")
        }
        if index == 0 {
            for marker in ["---", "..."]
            where text.starts(with: marker.unicodeScalars) && (text.count == 3 || isBlank(text[3])) {
                throw fail(
                    number, 1, "`\(marker)` marks a YAML document boundary; datasources.yaml is one document",
                    "remove the `\(marker)` line and keep one configuration in the file")
            }
            if text[0] == "%" {
                throw fail(number, 1, "YAML directives (`%YAML`, `%TAG`) are not supported", "remove the line")
            }
        }
        var isItem = false
        var keyIndent = index
        if text[index] == "-", index + 1 == text.count || isBlank(text[index + 1]) {
            isItem = true
            keyIndent = index + 1
            while keyIndent < text.count, text[keyIndent] == " " { keyIndent += 1 }
            if keyIndent < text.count, text[keyIndent] == "\t" {
                throw fail(number, keyIndent + 1, "a tab after `-`", "separate `-` from the key with spaces, not tabs")
            }
            if keyIndent == text.count || text[keyIndent] == "#" {
                throw fail(
                    number, index + 1, "a `-` without a key on its line",
                    "write the item's first key on the dash line: `- name: …`")
            }
            if text[keyIndent] == "-", keyIndent + 1 == text.count || isBlank(text[keyIndent + 1]) {
                throw fail(
                    number, keyIndent + 1, "a list inside a list is not supported",
                    "each `- ` item is a mapping: `- name: …`")
            }
        }
        return Line(number: number, text: text, indent: index, isItem: isItem, hasDash: isItem, keyIndent: keyIndent)
    }

    /// The key of an entry line and its value on the same line, if any.
    func lexEntry(_ line: Line) throws(ConfigurationError) -> (String, (text: String, column: Int, quoted: Bool)?) {
        let text = line.text
        let (key, afterColon) = try lexKey(text, line.keyIndent, number: line.number, inItem: line.hasDash)
        var valueStart = afterColon
        while valueStart < text.count, isBlank(text[valueStart]) { valueStart += 1 }
        let value =
            valueStart == text.count || text[valueStart] == "#"
            ? nil : try lexValue(text, valueStart, number: line.number)
        return (key, value)
    }

    /// Reads `key:` at `start`; returns the key and the index after the colon.
    func lexKey(_ text: [Unicode.Scalar], _ start: Int, number: Int, inItem: Bool) throws(ConfigurationError) -> (
        String, Int
    ) {
        if text[start] == "\"" || text[start] == "'" {
            let (key, end) = try quoted(text, start, number: number)
            var colon = end
            while colon < text.count, text[colon] == " " { colon += 1 }
            guard colon < text.count, text[colon] == ":", colon + 1 == text.count || isBlank(text[colon + 1]) else {
                throw fail(
                    number, column(text, colon), "expected `:` after the quoted key",
                    "write `\(text[start])\(key)\(text[start]): value`")
            }
            return (key, colon + 1)
        }
        try checkPlainStart(text, start, number: number, isKey: true)
        var end = start
        while end < text.count {
            if text[end] == ":", end + 1 == text.count || isBlank(text[end + 1]) {
                var keyEnd = end
                while keyEnd > start, isBlank(text[keyEnd - 1]) { keyEnd -= 1 }
                return (string(text[start..<keyEnd]), end + 1)
            }
            if isBlank(text[end]), end + 1 < text.count, text[end + 1] == "#" { break }
            end += 1
        }
        var contentEnd = end
        while contentEnd > start, isBlank(text[contentEnd - 1]) { contentEnd -= 1 }
        let found = string(text[start..<contentEnd])
        if let colon = text[start..<contentEnd].firstIndex(of: ":") {
            throw fail(
                number, column(text, colon + 1), "a space is missing after `:`",
                "write `key: value`, with a space after the colon")
        }
        if inItem {
            throw fail(
                number, column(text, start), "a list item must be a mapping, found the plain value `\(found)`",
                "lists of plain values are not used in datasources.yaml; write `- name: \(found)`")
        }
        throw fail(
            number, column(text, start), "expected `key: value`, found `\(found)`",
            "separate the key from its value with `: `")
    }

    /// Reads the value that starts at `start` up to a trailing comment.
    func lexValue(_ text: [Unicode.Scalar], _ start: Int, number: Int) throws(ConfigurationError) -> (
        text: String, column: Int, quoted: Bool
    ) {
        let valueColumn = column(text, start)
        if text[start] == "\"" || text[start] == "'" {
            let (value, end) = try quoted(text, start, number: number)
            var rest = end
            while rest < text.count, isBlank(text[rest]) { rest += 1 }
            if rest < text.count {
                if text[rest] == "#", rest > end { return (value, valueColumn, true) }
                throw fail(
                    number, column(text, rest), "unexpected text after the closing quote",
                    text[rest] == "#"
                        ? "put a space before `#` to start a comment" : "put the whole value inside the quotes")
            }
            return (value, valueColumn, true)
        }
        try checkPlainStart(text, start, number: number, isKey: false)
        var index = start
        var end = start
        while index < text.count {
            if isBlank(text[index]) {
                if index + 1 < text.count, text[index + 1] == "#" { break }
                index += 1
                continue
            }
            if text[index] == ":", index + 1 == text.count || isBlank(text[index + 1]) {
                throw fail(
                    number, column(text, index), "`: ` inside a plain value",
                    "put the value in double quotes: \"\(plain(text, start))\"")
            }
            index += 1
            end = index
        }
        let value = string(text[start..<end])
        if ["~", "null", "Null", "NULL"].contains(value) {
            throw fail(
                number, valueColumn, "`\(value)` is YAML's null, and datasources.yaml has no null",
                "write \"\(value)\" in quotes for the text, or remove the line to leave the field out")
        }
        return (value, valueColumn, false)
    }

    /// Refuses what a plain scalar may not start with, naming the feature and its replacement.
    func checkPlainStart(_ text: [Unicode.Scalar], _ index: Int, number: Int, isKey: Bool) throws(ConfigurationError) {
        let first = text[index]
        let spaceFollows = index + 1 == text.count || isBlank(text[index + 1])
        let at = column(text, index)
        switch first {
        case "&":
            throw fail(
                number, at, "anchors (`&name`) are not supported", "write the value out in full wherever it is needed")
        case "*":
            throw fail(
                number, at, "aliases (`*name`) are not supported",
                "write the value out in full instead of referring to an anchor")
        case "!":
            throw fail(
                number, at, "tags (`!…`) are not supported",
                "remove the tag; if the text starts with `!`, put it in quotes")
        case "{":
            throw fail(
                number, at, "flow mappings (`{…}`) are not supported",
                "write the mapping as indented `key: value` lines")
        case "[":
            throw fail(
                number, at, "flow lists (`[…]`) are not supported",
                "write the list as `- ` lines, one item per line, indented under the key")
        case "|", ">":
            throw fail(
                number, at, "block scalars (`|`, `>`) are not supported",
                "write the text on one line in double quotes, with \\n for line breaks")
        case "-" where spaceFollows && !isKey:
            throw fail(
                number, at, "a list cannot start on its key's line",
                "put each `- ` item on its own line, indented under the key")
        case "?" where spaceFollows:
            throw fail(number, at, "complex keys (`? `) are not supported", "write `key: value`")
        case ":" where spaceFollows:
            throw fail(
                number, at, isKey ? "a key is missing before `:`" : "a value cannot start with `: `",
                isKey ? "write `key: value`" : "put the value in double quotes")
        case "%", "@", "`", ",", "]", "}":
            throw fail(
                number, at, "a plain \(isKey ? "key" : "value") cannot start with `\(first)`",
                "put it in double quotes: \"\(plain(text, index))\"")
        default: return
        }
    }

    /// A single- or double-quoted scalar starting at `start`; returns the text and the index after the closing quote.
    func quoted(_ text: [Unicode.Scalar], _ start: Int, number: Int) throws(ConfigurationError) -> (String, Int) {
        let quote = text[start]
        var out = String.UnicodeScalarView()
        var index = start + 1
        while index < text.count {
            let scalar = text[index]
            if quote == "'" {
                if scalar == "'" {
                    if index + 1 < text.count, text[index + 1] == "'" {
                        out.append("'")
                        index += 2
                        continue
                    }
                    return (String(out), index + 1)
                }
                out.append(scalar)
                index += 1
                continue
            }
            if scalar == "\"" { return (String(out), index + 1) }
            guard scalar == "\\" else {
                out.append(scalar)
                index += 1
                continue
            }
            guard index + 1 < text.count else {
                throw fail(
                    number, column(text, index), "a `\\` at the end of the line",
                    "a double-quoted value must close on its line; write \\\\ for a backslash")
            }
            let escape = text[index + 1]
            switch escape {
            case "\"", "\\", "/": out.append(escape)
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "u", "U":
                let count = escape == "u" ? 4 : 8
                var value: UInt32 = 0
                var digits = 0
                while digits < count, index + 2 + digits < text.count, let digit = hexValue(text[index + 2 + digits]) {
                    value = value << 4 | digit
                    digits += 1
                }
                guard digits == count else {
                    throw fail(
                        number, column(text, index), "`\\\(escape)` needs \(count) hex digits",
                        count == 4 ? "write e.g. \\u00B0 for °" : "write e.g. \\U0001F600")
                }
                guard let character = Unicode.Scalar(value),
                    !isControl(character) || character == "\n" || character == "\r" || character == "\t"
                else {
                    throw fail(
                        number, column(text, index),
                        "`\\\(escape)\(string(text[(index + 2)..<(index + 2 + count)]))` is not a character that can "
                            + "be used here",
                        "surrogates and control characters are refused; write the character itself")
                }
                out.append(character)
                index += 2 + count
                continue
            default:
                throw fail(
                    number, column(text, index), "unsupported escape `\\\(escape)`",
                    "the escapes are \\\" \\\\ \\/ \\n \\t \\r \\uXXXX \\UXXXXXXXX; write other characters as they are")
            }
            index += 2
        }
        let kind = quote == "'" ? "single" : "double"
        throw fail(
            number, column(text, start), "unterminated \(kind)-quoted text",
            "close it with \(quote) on the same line; a value cannot span lines")
    }

    // MARK: Characters

    /// The one-based column of `index`, counted in characters.
    func column(_ text: [Unicode.Scalar], _ index: Int) -> Int {
        let end = min(index, text.count)
        var ascii = 0
        while ascii < end, text[ascii].isASCII { ascii += 1 }
        return ascii == end ? end + 1 : string(text[..<end]).count + 1
    }

    /// The text from `start` up to a trailing comment, trimmed, for a suggestion in a message.
    func plain(_ text: [Unicode.Scalar], _ start: Int) -> String {
        var end = start
        while end < text.count, !(isBlank(text[end]) && end + 1 < text.count && text[end + 1] == "#") { end += 1 }
        while end > start, isBlank(text[end - 1]) { end -= 1 }
        return string(text[start..<end])
    }

    func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    func isBlank(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" }

    /// C0 controls other than tab, DEL and C1 controls: invisible in an editor, never meant.
    func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isControlCharacter && scalar != "\t"
    }

    func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": scalar.value - 48
        case "a"..."f": scalar.value - 87
        case "A"..."F": scalar.value - 55
        default: nil
        }
    }
}
