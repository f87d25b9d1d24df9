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
            body: body)
    }
}

extension UploadOutcome {
    /// The outcome of an answer; `retryAfter` is its `Retry-After` in seconds, read by the one
    /// parser of that header (Southgate's `HTTPDate`).
    public init(_ response: HTTPResponse, retryAfter: Double?) {
        self = response.status == 200 ? .accepted : .status(response.status, retryAfter: retryAfter)
    }
}
