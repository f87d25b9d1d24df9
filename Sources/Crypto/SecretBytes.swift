import COpenSSL

/// Secret bytes (a client secret, the PEM of a private key) that are wiped when released and
/// never printed.
///
/// The bytes live in one heap block owned by this class rather than in an `Array`, so that no
/// copy-on-write duplicate escapes the wipe in `deinit`. `description` and `debugDescription`
/// print only the length, so a secret interpolated into a log line by accident stays secret.
public final class SecretBytes: @unchecked Sendable, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    // Written once in init, read-only afterwards: safe to share between threads.
    private let storage: UnsafeMutableRawBufferPointer

    /// Copies `bytes`. The caller remains responsible for its own copy.
    public init<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        storage = .allocate(byteCount: bytes.count, alignment: 1)
        storage.copyBytes(from: bytes)
    }

    /// The UTF-8 bytes of `string`, e.g. a SHARED_SECRET client secret, which is used as the
    /// HMAC key exactly as the server sent it (docs/protocol.md §4).
    public convenience init(_ string: String) {
        self.init(Array(string.utf8))
    }

    /// Copies `buffer`, then wipes it, for secrets that arrive in a buffer we own.
    public convenience init(wiping buffer: UnsafeMutableRawBufferPointer) {
        self.init(UnsafeRawBufferPointer(buffer))
        Self.cleanse(buffer)
    }

    deinit {
        Self.cleanse(storage)
        storage.deallocate()
    }

    public var count: Int { storage.count }

    /// Lends the bytes for the duration of `body`; do not let the pointer escape.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(storage))
    }

    public var description: String { "<redacted \(count) bytes>" }
    public var debugDescription: String { description }
    /// No children, so `dump` and debuggers show the description only.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Constant-time for equal lengths; the length itself is not treated as secret.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        ConstantTime.equals(UnsafeRawBufferPointer(lhs.storage), UnsafeRawBufferPointer(rhs.storage))
    }

    /// Overwrites `buffer` in a way the optimizer may not remove.
    /// The corresponding C function is `OPENSSL_cleanse`.
    static func cleanse(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        OPENSSL_cleanse(base, buffer.count)
    }
}
