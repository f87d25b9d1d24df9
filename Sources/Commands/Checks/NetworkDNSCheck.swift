import Southgate

/// `network.dns`: the southgate host resolves, the way the daemon's transport resolves it
/// (`CurlResolver`: libcurl's resolver, with its own answer for `localhost`, through the same
/// proxy settings), within the network timeout. Behind a proxy the proxy resolves the host: then
/// the proxy's own name is what must resolve here.
enum NetworkDNSCheck: HealthCheck {
    static let id = "network.dns"

    static func run(_ context: CheckContext) -> CheckResult {
        guard let southgate = context.southgate else { return CheckContext.noSouthgate }
        guard let endpoint = Endpoint(url: southgate.url) else {
            return .fail(
                "no host in \(southgate.url) (from \(southgate.source))",
                fix: "download the boarding file again from Asset Manager")
        }
        let host = endpoint.host
        let proxy = context.proxy(for: host)
        switch CurlResolver.resolve(host: host, port: endpoint.port, options: context.transportOptions) {
        case .success(let resolved):
            if let proxy {
                return .ok(
                    "\(host) is resolved by the proxy \(proxy), which resolves here"
                        + (resolved.address.map { " (to \($0))" } ?? ""))
            }
            return .ok(
                "\(host) resolves" + (resolved.address.map { " to \($0)" } ?? "")
                    + ", as the daemon resolves it")
        case .failure(let error):
            if let proxy {
                return .fail(
                    "the proxy \(proxy) does not resolve: \(error)",
                    fix: "check the proxy's address (proxy in hubagent.conf, or https_proxy) "
                        + "and the name servers")
            }
            return .fail(
                "\(host) does not resolve: \(error)",
                fix: "check the name servers (/etc/resolv.conf, `resolvectl status`) and /etc/hosts, "
                    + "and the network; behind a proxy, set proxy in hubagent.conf")
        }
    }
}
