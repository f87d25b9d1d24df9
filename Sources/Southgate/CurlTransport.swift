import CCurl
import Platform
import Synchronization

/// How requests leave the gateway. Proxy variables of the environment (`https_proxy`,
/// `HTTPS_PROXY`, `no_proxy`) are honoured by libcurl itself; `proxy` here overrides them.
public struct TransportOptions: Sendable, Equatable {
    /// Extra trusted CA bundle (PEM) for southgate or a TLS-inspecting proxy; the system store
    /// stays trusted too.
    public var caFile: String?
    /// The most bytes read from `caFile`.
    public var caFileLimit: Int
    public var proxy: String?
    public var noProxy: String?
    /// Total deadline for one request, connection included.
    public var timeout: Double
    public var userAgent: String

    public init(
        caFile: String? = nil, caFileLimit: Int = 4 << 20, proxy: String? = nil, noProxy: String? = nil,
        timeout: Double = 30, userAgent: String
    ) {
        self.caFile = caFile
        self.caFileLimit = caFileLimit
        self.proxy = proxy
        self.noProxy = noProxy
        self.timeout = timeout
        self.userAgent = userAgent
    }
}

/// HTTPS over libcurl. TLS peer and host verification are always on: there is no option to turn
/// them off, in any build. One easy handle is reused so that its connection cache saves a TLS
/// handshake per request; requests are serialized by a lock.
// Unchecked: the easy handle is reached only inside `handle`'s Mutex; `options` is immutable.
public final class CurlTransport: Transport, @unchecked Sendable {
    /// Responses larger than this are refused: southgate answers are a few KiB.
    static let maximumResponseBytes = 4 << 20

    public let options: TransportOptions
    private let handle: Mutex<UnsafeMutableRawPointer?>

    static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(options: TransportOptions) {
        Self.globalInit
        self.options = options
        handle = Mutex(curl_easy_init())
    }

    deinit {
        handle.withLock { if let h = $0 { curl_easy_cleanup(h) } }
    }

    public func perform(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse {
        let caBundle = try readCABundle()
        let result: Result<HTTPResponse, TransportError> = handle.withLock { h in
            guard let h else { return .failure(.other(detail: "curl_easy_init failed")) }
            curl_easy_reset(h)
            return perform(request, caBundle: caBundle, on: h)
        }
        return try result.get()
    }

    /// The extra CA bundle, read here rather than by libcurl: libcurl would open a FIFO swapped in
    /// for it and wait for a writer with the request queue held, and would read any size. Read
    /// for each request, as libcurl did, so an updated bundle counts from the next request on.
    private func readCABundle() throws(TransportError) -> [UInt8]? {
        guard let caFile = options.caFile else { return nil }
        let problem: String
        do {
            if let bytes = try RegularFile.read(caFile, limit: options.caFileLimit), !bytes.isEmpty { return bytes }
            problem = "does not exist or is empty"
        } catch {
            switch error {
            case .notRegular(let kind): problem = "is \(kind), not a regular file"
            case .tooLarge(let limit): problem = "is larger than \(limit) bytes"
            case .cannotOpen(let cause), .cannotRead(let cause):
                problem = "cannot be read: \(SystemError.message(for: cause.errno))"
            }
        }
        throw .other(detail: "ca_file \(caFile) \(problem); fix: set ca_file to a PEM file")
    }

    private final class Sink {
        var body = [UInt8]()
        var headers = [String: String]()
        var overflow = false
    }

    private func perform(_ request: HTTPRequest, caBundle: [UInt8]?, on h: UnsafeMutableRawPointer)
        -> Result<HTTPResponse, TransportError>
    {
        let sink = Sink()
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // libcurl would otherwise add `Expect: 100-continue` to larger bodies; southgate does not need it.
        headerList = curl_slist_append(headerList, "Expect:")

        // libcurl wants a non-null pointer even for an empty body.
        var body = request.body.isEmpty ? [0] : request.body
        let bodyLength = request.body.count
        var bundle = caBundle ?? []
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            body.withUnsafeMutableBytes { bodyPointer in
                bundle.withUnsafeMutableBytes { bundlePointer in
                    _ = hubagent_curl_setopt_string(h, CURLOPT_URL, request.url)
                    _ = hubagent_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
                    _ = hubagent_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
                    let timeout = max(options.timeout, request.timeout ?? 0)
                    _ = hubagent_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
                    // A long deadline must not let a dead connection sit: under 100 bytes/s for a
                    // minute ends the request.
                    _ = hubagent_curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, request.timeout == nil ? 0 : 100)
                    _ = hubagent_curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, request.timeout == nil ? 0 : 60)
                    _ = hubagent_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(min(options.timeout, 15) * 1000))
                    // Only HTTPS, never a redirect, TLS 1.2 at least (docs/protocol.md §1).
                    _ = hubagent_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "https")
                    _ = hubagent_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
                    _ = hubagent_curl_setopt_long(h, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
                    _ = hubagent_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
                    _ = hubagent_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
                    // HTTP/1.1 only, as the service and the official client speak it (docs/protocol.md §13).
                    _ = hubagent_curl_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
                    if caBundle != nil {
                        // CAINFO_BLOB replaces the bundle file (libcurl copies the bytes); the hashed
                        // system directory (CAPATH) stays trusted, so the extra bundle adds trust
                        // rather than replacing it.
                        var blob = curl_blob(
                            data: bundlePointer.baseAddress, len: bundlePointer.count, flags: UInt32(CURL_BLOB_COPY))
                        _ = withUnsafeMutablePointer(to: &blob) {
                            hubagent_curl_setopt_pointer(h, CURLOPT_CAINFO_BLOB, $0)
                        }
                        _ = hubagent_curl_setopt_string(h, CURLOPT_CAPATH, "/etc/ssl/certs")
                    }
                    if let proxy = options.proxy { _ = hubagent_curl_setopt_string(h, CURLOPT_PROXY, proxy) }
                    if let noProxy = options.noProxy { _ = hubagent_curl_setopt_string(h, CURLOPT_NOPROXY, noProxy) }
                    _ = hubagent_curl_setopt_long(h, CURLOPT_PROXYAUTH, hubagent_curlauth_any())
                    _ = hubagent_curl_setopt_string(h, CURLOPT_USERAGENT, options.userAgent)
                    _ = hubagent_curl_setopt_pointer(
                        h, CURLOPT_HTTPHEADER, headerList.map { UnsafeMutableRawPointer($0) })

                    switch request.method {
                    case .get:
                        _ = hubagent_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
                    case .post, .put:
                        _ = hubagent_curl_setopt_long(h, CURLOPT_POST, 1)
                        _ = hubagent_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, bodyPointer.baseAddress)
                        _ = hubagent_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, bodyLength)
                        if request.method == .put { _ = hubagent_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, "PUT") }
                    }

                    _ = hubagent_curl_setopt_pointer(h, CURLOPT_WRITEDATA, context.toOpaque())
                    _ = hubagent_curl_setopt_callback(h, CURLOPT_WRITEFUNCTION) { pointer, size, count, userdata in
                        let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
                        let length = size * count
                        if sink.body.count + length > CurlTransport.maximumResponseBytes {
                            sink.overflow = true
                            return 0  // makes libcurl abort with CURLE_WRITE_ERROR
                        }
                        if let pointer {
                            sink.body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: length))
                        }
                        return length
                    }
                    _ = hubagent_curl_setopt_pointer(h, CURLOPT_HEADERDATA, context.toOpaque())
                    _ = hubagent_curl_setopt_callback(h, CURLOPT_HEADERFUNCTION) { pointer, size, count, userdata in
                        let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
                        let length = size * count
                        guard let pointer else { return length }
                        let line = String(
                            decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
                        if line.hasPrefix("HTTP/") {
                            sink.headers.removeAll()  // a new response (after a proxy's CONNECT answer)
                        } else if let colon = line.firstIndex(of: ":") {
                            let name = line[..<colon].lowercased()
                            let value = line[line.index(after: colon)...].trimmingASCIISpaces()
                            sink.headers[name] = value
                        }
                        return length
                    }
                    return curl_easy_perform(h)
                }
            }
        }
        let detail = String(
            decoding: errorBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard code == CURLE_OK else {
            if sink.overflow {
                return .failure(.other(detail: "response larger than \(Self.maximumResponseBytes) bytes"))
            }
            return .failure(
                Self.map(
                    code, detail: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail, url: request.url)
            )
        }
        var status = 0
        _ = hubagent_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }

    /// libcurl's result codes, sorted into what the agent does about them.
    static func map(_ code: CURLcode, detail: String, url: String) -> TransportError {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(detail: detail)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .couldNotResolve(detail: detail)
        case CURLE_COULDNT_CONNECT:
            return .couldNotConnect(detail: detail)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return .tlsVerificationFailed(detail: detail)
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_SSL_CONNECT_ERROR:
            return .connectionLost(detail: detail)
        case CURLE_UNSUPPORTED_PROTOCOL:
            return .other(detail: "\(detail) (only https:// URLs are used)")
        default:
            return .other(detail: detail)
        }
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> String {
        let scalars = unicodeScalars.drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
        var text = String(String.UnicodeScalarView(scalars))
        while let last = text.unicodeScalars.last, last == " " || last == "\t" || last == "\r" || last == "\n" {
            text.unicodeScalars.removeLast()
        }
        return text
    }
}
