public import Southgate

/// The exchange request for one batch (docs/protocol.md §14, docs/relay.md §4).
public enum ExchangeRequest {
    public static let path = "/api/mindconnect/v3/exchange"

    /// `POST {baseURL}/api/mindconnect/v3/exchange` with the batch's body, `Accept: application/json`
    /// and the Correlation-ID the driver logs with the batch's sequence range.
    public static func make(
        _ batch: Batch, baseURL: String, accessToken: String, correlationID: String, boundary: () -> String
    ) -> HTTPRequest {
        let (contentType, body) = ExchangeEncoder.encode(batch, boundary: boundary)
        return HTTPRequest(
            method: .post, url: baseURL + path,
            headers: [
                ("Authorization", "Bearer " + accessToken), ("Content-Type", contentType),
                ("Accept", "application/json"), ("Correlation-ID", correlationID),
            ],
            body: body, timeout: deadline(bodyBytes: body.count))
    }

    /// The slowest uplink a batch still gets through: 2 KB/s (a poor GPRS link). Below the
    /// transport's usual deadline a 1 MiB batch could never arrive, and the same batch would be
    /// sent again forever (docs/relay.md §4).
    public static let slowestUplink = 2048.0

    /// The request's deadline: what the body takes at the slowest uplink, plus a minute.
    public static func deadline(bodyBytes: Int) -> Double {
        60 + Double(bodyBytes) / slowestUplink
    }
}

extension UploadOutcome {
    /// The outcome of an answer; `retryAfter` is its `Retry-After` in seconds, read by the one
    /// parser of that header (Southgate's `HTTPDate`).
    public init(_ response: HTTPResponse, retryAfter: Double?) {
        self = response.status == 200 ? .accepted : .status(response.status, retryAfter: retryAfter)
    }
}
