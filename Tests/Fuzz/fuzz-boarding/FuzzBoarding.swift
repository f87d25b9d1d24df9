import Agent
import JSON
import Platform

/// The boarding file parser and the JSON parser under it. Besides crashes, checks that JSON
/// survives serialisation, that error positions are inside the input, that an accepted file
/// holds what the validator promises, and that its canonical form reads back to the same file.
func fuzzBoarding(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkJSON(bytes)
    checkBoarding(bytes)
    checkISO8601(String(decoding: bytes, as: UTF8.self))
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

func checkJSON(_ bytes: [UInt8]) {
    let value: JSONValue
    do {
        value = try JSONValue.parse(bytes)
    } catch {
        let lines = bytes.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        require(
            error.line >= 1 && error.line <= lines && error.column >= 1,
            "error position \(error) outside \(lines) lines")
        return
    }
    let text = value.serialized
    guard let again = try? JSONValue.parse(text) else {
        return require(false, "serialized JSON does not parse: \(text)")
    }
    require(again == value, "serialized JSON parses to another value: \(text)")
    require(again.serialized == text, "serialization is not stable: \(text) vs \(again.serialized)")
}

func checkBoarding(_ bytes: [UInt8]) {
    guard let boarding = try? BoardingConfiguration.parse(bytes, file: "boarding.json") else { return }
    require(boarding.baseURL.hasPrefix("https://"), "base URL \(boarding.baseURL) is not https")
    // A URL holds no whitespace or control characters (RFC 3986); it reaches libcurl and log lines.
    require(
        !boarding.baseURL.unicodeScalars.contains { $0.value <= 0x20 || (0x7F...0x9F).contains($0.value) },
        "base URL with whitespace or a control character: \(boarding.baseURL.debugDescription)")
    for (name, value) in [("clientId", boarding.clientID), ("tenant", boarding.tenant)] {
        require(!value.isEmpty && value.count <= 36, "\(name) of \(value.count) characters accepted")
        // Both are logged and sent in the client assertion.
        require(
            !value.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
            "\(name) with a control character: \(value.debugDescription)")
    }
    require(
        boarding.fingerprint.count == 64 && boarding.fingerprint.allSatisfy { "0123456789abcdef".contains($0) },
        "fingerprint \(boarding.fingerprint)")
    require(
        boarding.expiresAt == [boarding.expiration, boarding.initialAccessTokenExpiry].compactMap { $0 }.min(),
        "expiresAt")

    // The same content written the way Asset Manager writes it reads back to the same configuration.
    var content: [(String, JSONValue)] = [
        ("baseUrl", .string(boarding.baseURL)), ("iat", .string(boarding.initialAccessToken.exposed)),
        ("clientCredentialProfile", .array([.string(boarding.profile.rawValue)])),
        ("clientId", .string(boarding.clientID)), ("tenant", .string(boarding.tenant)),
    ]
    content.reverse()  // member order is not part of the identity
    let rewritten = JSONValue.object([("content", .object(content))]).serialized
    do {
        let again = try BoardingConfiguration.parse(Array(rewritten.utf8), file: "boarding.json")
        var expected = boarding
        expected.expiration = nil
        require(again == expected, "rewritten boarding file differs: \(rewritten)")
    } catch {
        require(false, "rewritten boarding file refused: \(error)")
    }
}

/// An accepted date-time is finite, and one in years 1000…9999 reads back from its UTC form.
func checkISO8601(_ text: String) {
    guard let seconds = ISO8601.parse(text) else { return }
    require(seconds.isFinite, "\(text) parsed to \(seconds)")
    // RFC 3339 §5.6: an offset is ±hh:mm with hh ≤ 23 and mm ≤ 59.
    let utf8 = Array(text.utf8)
    if utf8.count >= 6, utf8[utf8.count - 6] == UInt8(ascii: "+") || utf8[utf8.count - 6] == UInt8(ascii: "-"),
        let hours = Int(String(decoding: utf8[(utf8.count - 5)..<(utf8.count - 3)], as: UTF8.self)),
        let minutes = Int(String(decoding: utf8[(utf8.count - 2)...], as: UTF8.self))
    {
        require(hours <= 23 && minutes <= 59, "offset \(hours):\(minutes) accepted in \(text)")
    }
    guard (-30_610_224_000.0..<253_402_300_800.0).contains(seconds) else { return }
    let utc = UTCCalendar.iso8601(seconds)
    require(
        ISO8601.parse(utc) == seconds.rounded(.down),
        "\(text) → \(seconds) → \(utc) → \(String(describing: ISO8601.parse(utc)))")
}
