import Agent
import JSON

/// `datasources.yaml`: the YAML subset and the validation on top. Checks that errors point inside
/// the file, that an accepted configuration keeps the documented limits, and that it survives
/// both the canonical JSON (what is uploaded and compared) and a YAML rewrite in double quotes.
func fuzzDataSources(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let configuration: DataSourceConfiguration
    do {
        configuration = try DataSourceConfiguration.parse(bytes, file: "datasources.yaml")
    } catch {
        let lines = bytes.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        if let line = error.line {
            require(line >= 1 && line <= lines, "error line \(line) outside \(lines) lines: \(error)")
        }
        if let column = error.column { require(column >= 1, "error column \(column): \(error)") }
        _ = error.description
        return 0
    }
    checkLimits(configuration)
    checkCanonicalJSON(configuration)
    checkRewrite(configuration)
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

func checkLimits(_ configuration: DataSourceConfiguration) {
    func within(_ text: String, _ limit: Int, _ what: String, empty: Bool = false, control: Bool = false) {
        require(
            text.utf16.count <= limit && (empty || !text.isEmpty), "\(what) \(text.debugDescription) outside 1…\(limit)"
        )
        if !control {
            require(
                !text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                "\(what) \(text.debugDescription) holds a control character")
        }
    }
    within(configuration.configurationID, 36, "configurationId")
    var names = Set<String>()
    var ids = Set<String>()
    var points = 0
    require(!configuration.dataSources.isEmpty, "no data sources accepted")
    for source in configuration.dataSources {
        within(source.name, 64, "source name")
        require(names.insert(source.name).inserted, "source name \(source.name) twice")
        if let description = source.description { within(description, 256, "description", empty: true, control: true) }
        require(source.customData.count <= 5, "\(source.customData.count) customData entries")
        for (key, value) in source.customData {
            within(key, 64, "customData key")
            within(value, 256, "customData value", empty: true, control: true)
        }
        require(!source.dataPoints.isEmpty, "source \(source.name) without points accepted")
        for point in source.dataPoints {
            points += 1
            within(point.id, 36, "point id")
            within(point.name, 64, "point name")
            within(point.unit, 32, "unit", empty: true)
            if let description = point.description {
                within(description, 256, "description", empty: true, control: true)
            }
            require(point.customData.count <= 5, "\(point.customData.count) customData entries")
            require(ids.insert(point.id).inserted, "point id \(point.id) twice")
        }
    }
    require(points <= 2000, "\(points) points accepted")
    let summary = configuration.summary
    require(summary.sources == configuration.dataSources.count && summary.points == points, "summary \(summary)")
}

/// The upload body, serialised and read back as the server's copy would be, is the same configuration.
func checkCanonicalJSON(_ configuration: DataSourceConfiguration) {
    let text = configuration.canonicalJSON.serialized
    guard let json = try? JSONValue.parse(text) else { return require(false, "canonical JSON does not parse: \(text)") }
    require(
        DataSourceConfiguration.fromCanonicalJSON(json) == configuration,
        "canonical JSON reads back differently: \(text)")
    require(configuration.contentHash.count == 64, "content hash \(configuration.contentHash)")
}

/// The configuration written as YAML with every value double-quoted parses to itself, with the
/// derived ids and configuration id written out or left out.
func checkRewrite(_ configuration: DataSourceConfiguration) {
    for explicit in [true, false] {
        let yaml = emit(configuration, explicitIDs: explicit)
        do {
            let again = try DataSourceConfiguration.parse(Array(yaml.utf8), file: "rewritten.yaml")
            if explicit {
                require(again == configuration, "rewritten YAML reads back differently:\n\(yaml)")
            } else {
                // Without ids, what comes back is the derived ones; the content must match otherwise.
                require(
                    again.dataSources.map(\.name) == configuration.dataSources.map(\.name),
                    "rewritten YAML lost sources:\n\(yaml)")
                require(
                    again.dataSources.map(\.dataPoints.count) == configuration.dataSources.map(\.dataPoints.count),
                    "rewritten YAML lost points:\n\(yaml)")
            }
        } catch {
            // Leaving ids out may make two derived ids collide; nothing else may fail.
            require(!explicit && error.message.contains("id"), "rewritten YAML refused: \(error)\n\(yaml)")
        }
    }
}

func emit(_ configuration: DataSourceConfiguration, explicitIDs: Bool) -> String {
    var out = "# rewritten\n"
    if explicitIDs { out += "configurationId: \(quote(configuration.configurationID))\n" }
    out += "dataSources:\n"
    func customData(_ pairs: [(String, String)], indent: String) {
        guard !pairs.isEmpty else { return }
        out += indent + "customData:\n"
        for (key, value) in pairs { out += indent + "  \(quote(key)): \(quote(value))\n" }
    }
    for source in configuration.dataSources {
        out += "  - name: \(quote(source.name))\n"
        if let description = source.description { out += "    description: \(quote(description))\n" }
        customData(source.customData, indent: "    ")
        out += "    dataPoints:\n"
        for point in source.dataPoints {
            out += "      - name: \(quote(point.name))\n"
            if explicitIDs { out += "        id: \(quote(point.id))\n" }
            out += "        type: \(point.type.rawValue)\n"
            out += "        unit: \(quote(point.unit))\n"
            if let description = point.description { out += "        description: \(quote(description))\n" }
            customData(point.customData, indent: "        ")
        }
    }
    return out
}

/// A double-quoted YAML scalar using only the escapes the subset documents.
func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
