public import Crypto

/// A credential held as text (IAT, RAT, client secret, access token). Its description is
/// redacted, so string interpolation into a log line cannot leak it.
public struct Secret: Equatable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let exposed: String

    public init(_ value: String) { exposed = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

extension SecretBytes {
    /// The bytes as text, for the JSON form of the state file, the one place a PEM must be a
    /// string (and then only while it is being written or parsed).
    var text: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
