import COpenSSL

/// Memory BIOs for reading and writing PEM text; the BIO never outlives the call.
enum PEM {
    /// Runs `body` on a read-only BIO over `text` (no copy is made).
    /// The corresponding C function is `BIO_new_mem_buf`.
    static func reading<Result>(
        _ text: UnsafeRawBufferPointer, _ body: (OpaquePointer) -> Result
    ) throws(CryptoError) -> Result {
        guard text.count <= Int(Int32.max) else { throw .invalidKey("PEM text too large") }
        // An empty buffer has no base address; BIO_new_mem_buf needs one.
        let empty: UInt8 = 0
        let bio = withUnsafePointer(to: empty) { fallback in
            BIO_new_mem_buf(text.baseAddress ?? UnsafeRawPointer(fallback), Int32(text.count))
        }
        guard let bio else { throw OpenSSLError.drain("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        return body(bio)
    }

    /// Lets `write` fill a memory BIO, then hands its contents to `extract`.
    ///
    /// With `secret`, the BIO is a secure-memory BIO, whose buffer is wiped when it grows and when
    /// it is freed, so private key PEM leaves no stray copy on the heap.
    /// The corresponding C functions are `BIO_new(BIO_s_mem())` / `BIO_new(BIO_s_secmem())`.
    static func writing<Result>(
        secret: Bool, operation: String,
        _ write: (OpaquePointer) -> Int32,
        extract: (UnsafeRawBufferPointer) -> Result
    ) throws(CryptoError) -> Result {
        guard let bio = BIO_new(secret ? BIO_s_secmem() : BIO_s_mem()) else {
            throw OpenSSLError.drain("BIO_new")
        }
        defer { BIO_free(bio) }
        try OpenSSLError.check(write(bio), operation)
        var data: UnsafePointer<CChar>? = nil
        let length = hubagent_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else {
            throw .openssl(operation: operation, reason: "wrote no PEM text")
        }
        return extract(UnsafeRawBufferPointer(start: data, count: length))
    }
}
