import COpenSSL

/// The one place that reads OpenSSL's error queue.
///
/// The queue is thread-local (docs/platform-notes.md swift §1), so it must be drained on the thread of the
/// failing call, right after it; every wrapper in this module does so through `drain(_:)`.
enum OpenSSLError {
    /// Empties this thread's error queue into one `CryptoError.openssl` naming `operation`.
    /// The corresponding C function is `ERR_get_error`.
    static func drain(_ operation: String) -> CryptoError {
        .openssl(operation: operation, reason: drainReason())
    }

    /// Empties this thread's error queue into one line, for errors reported as another case
    /// (e.g. `CryptoError.invalidKey`). The corresponding C function is `ERR_get_error`.
    static func drainReason() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            // Keep the first few; the queue can hold a long stack of nested decoder attempts.
            if reasons.count < 4 { reasons.append(text(of: code)) }
        }
        return reasons.isEmpty ? "no detail on the OpenSSL error queue" : reasons.joined(separator: "; ")
    }

    /// Discards queued errors after a failure we expected, such as a signature that does not
    /// verify, so that they are not blamed on the next, unrelated call.
    /// The corresponding C function is `ERR_clear_error`.
    static func clear() {
        ERR_clear_error()
    }

    /// Throws the drained queue unless `result` is OpenSSL's success value 1.
    static func check(_ result: Int32, _ operation: String) throws(CryptoError) {
        guard result == 1 else { throw drain(operation) }
    }

    /// The human-readable form of one error code, e.g. "error:...:PEM routines::no start line".
    /// The corresponding C function is `ERR_error_string_n`.
    private static func text(of code: UInt) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
