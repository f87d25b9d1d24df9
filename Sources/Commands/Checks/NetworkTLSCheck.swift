import Southgate

/// `network.tls`: TCP and a verified TLS handshake with southgate, through the proxy if one is
/// set, with the CA in use — an unauthenticated GET of `oauth/token_key` through the daemon's
/// own transport, so what passes here passes for the daemon.
enum NetworkTLSCheck: HealthCheck {
    static let id = "network.tls"

    static func run(_ context: CheckContext) -> CheckResult {
        guard let southgate = context.southgate, let probe = context.probe else { return CheckContext.noSouthgate }
        guard let endpoint = Endpoint(url: southgate.url) else {
            return .fail(
                "no host in \(southgate.url) (from \(southgate.source))",
                fix: "download the boarding file again from Asset Manager")
        }
        let route = context.proxy(for: endpoint.host).map { "through the proxy \($0)" } ?? "directly"
        let network = "check the firewall and routing to \(endpoint) (TCP), or set proxy in hubagent.conf"
        switch probe.result {
        case .success(let response):
            let milliseconds = Int(((probe.receivedAt - probe.sentAt) * 1000).rounded())
            guard response.status == 200 else {
                return .warn(
                    "TLS with \(endpoint) verified (\(route)), but oauth/token_key answered HTTP \(response.status)",
                    fix:
                        "check that the southgate URL (\(southgate.url), from \(southgate.source)) is the one Asset "
                        + "Manager gave, and the proxy"
                )
            }
            return .ok(
                "TLS with \(endpoint) verified with \(context.caDescription), \(route); oauth/token_key answered in "
                    + "\(milliseconds) ms"
            )
        case .failure(let error):
            switch error {
            case .tlsVerificationFailed(let detail):
                return .fail(
                    "TLS certificate verification failed for \(endpoint) (\(route)) with \(context.caDescription): "
                        + "\(detail)",
                    fix:
                        "set ca_file in hubagent.conf (or --ca-file) to the CA bundle that signed southgate's "
                        + "certificate, or to the TLS-inspecting proxy's CA"
                )
            case .couldNotResolve(let detail):
                return .fail(
                    "name resolution failed (\(route)): \(detail)",
                    fix: "see network.dns; behind a proxy, check its address")
            case .couldNotConnect(let detail):
                return .fail("cannot connect to \(endpoint) (\(route)): \(detail)", fix: network)
            case .timedOut(let detail):
                return .fail(
                    "no answer from \(endpoint) (\(route)) within \(Int(CheckContext.networkTimeout)) s: \(detail)",
                    fix: network)
            case .connectionLost(let detail) where detail.contains("407"),
                .other(let detail) where detail.contains("407"):
                return .fail(
                    "the proxy refused its credentials (HTTP 407) on the way to \(endpoint) (\(route)): \(detail)",
                    fix: "check the user and password in the proxy URL (proxy in hubagent.conf, or https_proxy)")
            case .connectionLost(let detail):
                return .fail(
                    "the TLS handshake or connection with \(endpoint) (\(route)) failed: \(detail)",
                    fix:
                        "check that nothing on the way intercepts TLS without its CA in ca_file; behind a proxy, check "
                        + "its address and credentials"
                )
            case .other(let detail):
                return .fail(
                    "the request to \(endpoint) (\(route)) failed: \(detail)",
                    fix: "check proxy and no_proxy in hubagent.conf and the environment")
            }
        }
    }
}
