import Agent

/// The proxy libcurl uses for a request, worked out as libcurl does it: `proxy` in
/// hubagent.conf, else `https_proxy`/`HTTPS_PROXY`/`all_proxy`/`ALL_PROXY`; `no_proxy` likewise.
/// For messages only: what is shown never carries the proxy's credentials.
struct ProxyRoute {
    let settings: Settings
    let environment: [String: String]

    private var urls: [String?] {
        [
            settings.proxy, environment["https_proxy"], environment["HTTPS_PROXY"], environment["all_proxy"],
            environment["ALL_PROXY"],
        ]
    }

    /// The proxy for `host`, as the operator may see it (credentials removed); nil for a direct
    /// connection.
    func proxy(for host: String) -> String? {
        guard let proxy = urls.compactMap({ $0 }).first(where: { !$0.isEmpty }) else { return nil }
        let noProxy = settings.noProxy ?? environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        let name = host.lowercased()
        for entry in noProxy.split(separator: ",") {
            var pattern = String(entry.filter { $0 != " " && $0 != "\t" }).lowercased()
            if pattern == "*" { return nil }
            while pattern.hasPrefix(".") { pattern.removeFirst() }
            if !pattern.isEmpty && (name == pattern || name.hasSuffix("." + pattern)) { return nil }
        }
        return Self.withoutCredentials(proxy)
    }

    /// The `user:password` parts of every proxy URL in play, and the passwords alone, longest
    /// first: what must never reach the output.
    var credentials: [String] {
        var found = [String]()
        for url in urls.compactMap({ $0 }) {
            let schemeEnd = url.firstRange(of: "://")?.upperBound ?? url.startIndex
            let authority = url[schemeEnd...].prefix { $0 != "/" }
            guard let at = authority.lastIndex(of: "@") else { continue }
            let userinfo = authority[..<at]
            found.append(String(userinfo))
            if let colon = userinfo.firstIndex(of: ":") {
                found.append(String(userinfo[userinfo.index(after: colon)...]))
            }
        }
        // Longest first, so that user:password goes as a whole before its password alone.
        return found.filter { $0.count >= 3 }.sorted { $0.count > $1.count }
    }

    /// `http://user:password@proxy:3128` → `http://proxy:3128`: a proxy password is a secret.
    static func withoutCredentials(_ url: String) -> String {
        let schemeEnd = url.firstRange(of: "://")?.upperBound ?? url.startIndex
        let rest = url[schemeEnd...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd]) + String(rest[rest.index(after: at)...])
    }
}
