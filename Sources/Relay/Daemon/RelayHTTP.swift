import JSON
public import Platform

/// The relay's local HTTP API (docs/relay.md §1), served on `data.sock`.
extension RelayDaemon {
    /// Routes one request; `respond` gets the complete answer.
    public func serve(_ request: LocalHTTPRequest, respond: @escaping @Sendable ([UInt8]) -> Void) {
        let answer: @Sendable (Answer) -> Void = { respond(Self.http($0)) }
        switch (request.method, request.path) {
        case ("POST", "/v1/timeseries"):
            let type = (request.headers["content-type"] ?? "application/json").lowercased()
            let mediaType = type.split(separator: ";").first.map { $0.trimmingCharacters() } ?? ""
            switch mediaType {
            case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines":
                ingestTimeseries(body: request.body, ndjson: true, respond: answer)
            case "application/json", "":
                ingestTimeseries(body: request.body, ndjson: false, respond: answer)
            default:
                answer(
                    Answer(
                        status: 415,
                        json: .object([
                            (
                                "error",
                                .string(
                                    "Content-Type must be application/json (the bulk form) or application/x-ndjson "
                                        + "(one value per line)")
                            )
                        ])))
            }
        case ("POST", "/v1/events"):
            ingestEvent(body: request.body, respond: answer)
        case ("GET", "/v1/relay"):
            currentStatus { status in answer(Answer(status: 200, json: status.json)) }
        case (_, "/v1/timeseries"), (_, "/v1/events"):
            answer(Answer(status: 405, json: .object([("error", .string("only POST"))])))
        case (_, "/v1/relay"):
            answer(Answer(status: 405, json: .object([("error", .string("only GET"))])))
        default:
            answer(
                Answer(
                    status: 404,
                    json: .object([("error", .string("POST /v1/timeseries, POST /v1/events or GET /v1/relay"))])))
        }
    }

    static func http(_ answer: Answer) -> [UInt8] {
        LocalHTTPRequest.response(
            status: answer.status, reason: reason(answer.status), json: answer.json.serialized,
            headers: answer.retryAfter.map { [("Retry-After", String($0))] } ?? [])
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 202: "Accepted"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 429: "Too Many Requests"
        case 503: "Service Unavailable"
        case 507: "Insufficient Storage"
        default: "Internal Server Error"
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
