import CCurl

/// Name resolution exactly as `CurlTransport` resolves: libcurl's own resolver (which answers
/// `localhost` itself, RFC 6761, before asking the system's) through the same proxy settings, so
/// `hubagent check` never reports a name the daemon can reach as unresolvable. libcurl has no
/// resolve-only call: the handle connects (plain TCP, or a CONNECT tunnel through the proxy) and
/// sends nothing.
public enum CurlResolver {
    public struct Resolved: Equatable, Sendable {
        /// The address libcurl connected to (the proxy's, through a proxy); nil when the name
        /// resolved but the connection failed, which is network.tls's matter.
        public var address: String?
    }

    /// Resolves `host` as a request to `host:port` with `options` would. Fails only when
    /// resolution (of the host, or of the proxy) fails, or on the timeout.
    public static func resolve(host: String, port: Int, options: TransportOptions) -> Result<Resolved, TransportError> {
        CurlTransport.globalInit
        guard let h = curl_easy_init() else { return .failure(.other(detail: "curl_easy_init failed")) }
        defer { curl_easy_cleanup(h) }
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            _ = hubagent_curl_setopt_string(h, CURLOPT_URL, "http://\(authority)/")
            _ = hubagent_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
            _ = hubagent_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http")
            _ = hubagent_curl_setopt_long(h, CURLOPT_CONNECT_ONLY, 1)
            _ = hubagent_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            _ = hubagent_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(options.timeout * 1000))
            _ = hubagent_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(options.timeout * 1000))
            // Through a proxy, as an https:// request goes: a CONNECT tunnel, the proxy resolving.
            _ = hubagent_curl_setopt_long(h, CURLOPT_HTTPPROXYTUNNEL, 1)
            if let proxy = options.proxy { _ = hubagent_curl_setopt_string(h, CURLOPT_PROXY, proxy) }
            if let noProxy = options.noProxy { _ = hubagent_curl_setopt_string(h, CURLOPT_NOPROXY, noProxy) }
            _ = hubagent_curl_setopt_long(h, CURLOPT_PROXYAUTH, hubagent_curlauth_any())
            _ = hubagent_curl_setopt_string(h, CURLOPT_USERAGENT, options.userAgent)
            return curl_easy_perform(h)
        }
        let detail = String(
            decoding: errorBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) },
            as: UTF8.self)
        switch code {
        case CURLE_OK:
            var pointer: UnsafePointer<CChar>?
            let address =
                hubagent_curl_getinfo_string(h, CURLINFO_PRIMARY_IP, &pointer) == CURLE_OK
                ? pointer.map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } : nil
            return .success(Resolved(address: address))
        case CURLE_OPERATION_TIMEDOUT where resolvedBeforeTimeout(h):
            return .success(Resolved(address: nil))
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_OPERATION_TIMEDOUT:
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            return .failure(CurlTransport.map(code, detail: text, url: "http://\(authority)/"))
        default:
            // The name resolved; what failed after it is the connection's (network.tls).
            return .success(Resolved(address: nil))
        }
    }

    /// A timeout after the name lookup finished is the connection's, not the resolver's.
    private static func resolvedBeforeTimeout(_ h: UnsafeMutableRawPointer) -> Bool {
        var seconds = 0.0
        return hubagent_curl_getinfo_double(h, CURLINFO_NAMELOOKUP_TIME, &seconds) == CURLE_OK && seconds > 0
    }
}
