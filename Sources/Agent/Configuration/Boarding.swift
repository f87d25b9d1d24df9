import Crypto
import JSON
import Platform

/// How the agent proves its identity to the token endpoint (docs/protocol.md §2).
public enum CredentialProfile: String, Sendable, CaseIterable {
    case sharedSecret = "SHARED_SECRET"
    case rsa3072 = "RSA_3072"
}

/// `boarding.json` as downloaded from Asset Manager (docs/protocol.md §2), validated.
public struct BoardingConfiguration: Equatable, Sendable {
    public var baseURL: String
    public var initialAccessToken: Secret
    public var profile: CredentialProfile
    public var clientID: String
    public var tenant: String
    /// `expiration`, epoch seconds, when present.
    public var expiration: Double?
    /// The IAT's own `exp` claim, when it can be read.
    public var initialAccessTokenExpiry: Double?
    /// SHA-256 (hex) of the canonical `content`: identifies this boarding file (docs/design.md §4 rule 2).
    public var fingerprint: String

    /// The earlier of `expiration` and the IAT's `exp`; after it the IAT is useless.
    public var expiresAt: Double? {
        [expiration, initialAccessTokenExpiry].compactMap { $0 }.min()
    }

    /// docs/protocol.md §1: client id and tenant are at most 36 characters.
    static let maximumIdentifierLength = 36

    public static func parse(_ bytes: [UInt8], file: String) throws(ConfigurationError) -> BoardingConfiguration {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw ConfigurationError(
                file: file, line: error.line, column: error.column, message: error.message,
                fix: "download the boarding configuration again from Asset Manager")
        }
        func fail(_ message: String, _ fix: String? = nil) -> ConfigurationError {
            ConfigurationError(
                file: file, message: message, fix: fix ?? "download the boarding configuration again from Asset Manager"
            )
        }
        guard case .object = json else {
            throw fail("the boarding configuration must be a JSON object with a \"content\" member")
        }
        guard let content = json["content"], case .object = content else { throw fail("missing field content") }

        func field(_ name: String) throws(ConfigurationError) -> String {
            guard let value = content[name] else { throw fail("missing field content.\(name)") }
            guard let text = value.stringValue else { throw fail("content.\(name) must be a string") }
            guard !text.isEmpty else { throw fail("content.\(name) is empty") }
            return text
        }

        let baseURL = try field("baseUrl")
        try validateBaseURL(baseURL, fail: fail)
        let iat = try field("iat")
        let clientID = try field("clientId")
        let tenant = try field("tenant")
        guard clientID.count <= maximumIdentifierLength else {
            throw fail("content.clientId is longer than 36 characters")
        }
        guard tenant.count <= maximumIdentifierLength else { throw fail("content.tenant is longer than 36 characters") }
        guard clientID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw fail("content.clientId contains characters other than letters, digits, '-' and '_'")
        }
        // The tenant is logged and signed into every client assertion.
        guard !tenant.unicodeScalars.contains(where: \.isControlCharacter) else {
            throw fail("content.tenant contains a control character")
        }

        // `clientCredentialProfile` is an array with one element; accept a bare string too.
        let profileNames: [String]
        switch content["clientCredentialProfile"] {
        case .none: throw fail("missing field content.clientCredentialProfile")
        case .string(let name)?: profileNames = [name]
        case .array(let items)?: profileNames = items.compactMap(\.stringValue)
        default: throw fail("content.clientCredentialProfile must be an array of strings")
        }
        guard let profileName = profileNames.first else { throw fail("content.clientCredentialProfile is empty") }
        guard let profile = CredentialProfile(rawValue: profileName) else {
            throw fail(
                "unknown credential profile \"\(profileName)\"; hubagent supports SHARED_SECRET and RSA_3072",
                "create the agent in Asset Manager with the SHARED_SECRET or RSA_3072 security profile")
        }

        var expiration: Double?
        if let value = json["expiration"], value != .null {
            guard let text = value.stringValue, let seconds = ISO8601.parse(text) else {
                throw fail("expiration is not a date-time such as 2026-12-05T11:42:24.000Z")
            }
            expiration = seconds
        }

        let claims = try? JWT.unverifiedClaims(of: iat)
        if claims == nil { throw fail("content.iat is not a JWT") }

        let canonical = JSONValue.object([
            ("baseUrl", .string(baseURL)), ("iat", .string(iat)),
            ("clientCredentialProfile", .string(profile.rawValue)),
            ("clientId", .string(clientID)), ("tenant", .string(tenant)),
        ]).serialized
        return BoardingConfiguration(
            baseURL: baseURL, initialAccessToken: Secret(iat), profile: profile, clientID: clientID, tenant: tenant,
            expiration: expiration, initialAccessTokenExpiry: claims?.exp.map(Double.init),
            fingerprint: Hex.encode(SHA256.hash(Array(canonical.utf8))))
    }

    /// Only https: an http:// base URL would send every credential in clear text (docs/protocol.md §13).
    private static func validateBaseURL(_ url: String, fail: (String, String?) -> ConfigurationError)
        throws(ConfigurationError)
    {
        guard url.hasPrefix("https://") else {
            throw fail("content.baseUrl \"\(url)\" is not an https:// URL", "hubagent only talks to southgate over TLS")
        }
        let rest = url.dropFirst("https://".count)
        let host = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        // No whitespace or control characters (RFC 3986): the URL is logged and handed to libcurl.
        guard !host.isEmpty, !host.contains("@"), !rest.contains("?"), !rest.contains("#"),
            !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.isControlCharacter })
        else {
            throw fail("content.baseUrl \"\(url)\" is not a valid URL", nil)
        }
    }
}

/// The date-times of boarding files: `2019-05-23T11:42:24.000Z`, with optional fraction and an
/// optional numeric offset.
public enum ISO8601 {
    public static func parse(_ text: String) -> Double? {
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for c in chars[from..<from + count] {
                guard (48...57).contains(c) else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard chars.count >= 20, let year = number(0, 4), chars[4] == 45, let month = number(5, 2), chars[7] == 45,
            let day = number(8, 2), chars[10] == 84 || chars[10] == 116, let hour = number(11, 2), chars[13] == 58,
            let minute = number(14, 2), chars[16] == 58, let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < chars.count, chars[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < chars.count, (48...57).contains(chars[index]) {
                fraction += Double(chars[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        guard index < chars.count else { return nil }
        if chars[index] == 90 || chars[index] == 122 {
            index += 1
        } else if chars[index] == 43 || chars[index] == 45, let h = number(index + 1, 2), chars.count > index + 3,
            chars[index + 3] == 58,
            let m = number(index + 4, 2), h < 24, m < 60
        {  // RFC 3339 §5.6: +99:99 is not an offset
            offset = (h * 3600 + m * 60) * (chars[index] == 43 ? 1 : -1)
            index += 6
        } else {
            return nil
        }
        guard index == chars.count else { return nil }
        let days = UTCCalendar.daysSinceEpoch(year: year, month: month, day: day)
        // 2019-02-31 is not a date, not 3 March.
        guard UTCCalendar.civil(fromDays: days) == (year, month, day) else { return nil }
        return Double(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }
}
