import Platform
import Southgate

/// One unauthenticated GET of `<baseUrl>/api/agentmanagement/v3/oauth/token_key` through the
/// daemon's own transport: it proves DNS, TCP, proxy and TLS as the daemon would use them, and
/// brings the server's clock.
struct SouthgateProbe {
    var url: String
    var result: Result<HTTPResponse, TransportError>
    /// Local clock when the request left and when its answer arrived.
    var sentAt: Double
    var receivedAt: Double

    static func fetch(baseURL: String, options: TransportOptions, clock: any WallClock) -> SouthgateProbe {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let url = base + "/api/agentmanagement/v3/oauth/token_key"
        let transport = CurlTransport(options: options)
        let sentAt = clock.now()
        let result: Result<HTTPResponse, TransportError>
        do throws(TransportError) {
            let request = HTTPRequest(method: .get, url: url, headers: [("Accept", "application/json")])
            result = .success(try transport.perform(request))
        } catch {
            result = .failure(error)
        }
        return SouthgateProbe(url: url, result: result, sentAt: sentAt, receivedAt: clock.now())
    }
}
