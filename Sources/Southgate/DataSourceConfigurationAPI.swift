public import JSON

/// The server's copy of the data source configuration and its eTag (docs/protocol.md §7).
public struct StoredDataSourceConfiguration: Equatable, Sendable {
    /// The body as the server returned it (with its `id` and `eTag` members).
    public var json: JSONValue
    /// A decimal counter, `"0"` when never configured (docs/protocol.md §7).
    public var eTag: String

    init(json: JSONValue) throws(SouthgateResponseError) {
        guard case .object = json else { throw .init("body is not a JSON object") }
        self.json = json
        // A string in the API; tolerate a number.
        guard let tag = json["eTag"]?.stringValue ?? json["eTag"]?.int64Value.map(String.init) else {
            throw .init("field eTag is missing")
        }
        // The eTag goes back in an If-Match header (docs/protocol.md §7: a decimal counter, inferred):
        // visible ASCII only, bounded, so that no answer can inject a header or a log line.
        guard !tag.isEmpty, tag.utf8.count <= ResponseBounds.eTag,
            tag.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) && $0 != "\"" })
        else {
            throw .init("field eTag is not at most \(ResponseBounds.eTag) visible ASCII characters")
        }
        eTag = tag
    }
}

extension SouthgateClient {
    func dataSourceConfigurationURL(agentID: String) -> String {
        baseURL + Self.agentManagementPath + "/agents/\(agentID)/dataSourceConfiguration"
    }

    /// `GET …/agents/{id}/dataSourceConfiguration` with the agent's access token; nil when the agent was
    /// never configured. Sources disagree on that answer (docs/protocol.md §7, contested): 404, or 200
    /// without `configurationId`; both mean "never configured".
    public func dataSourceConfiguration(agentID: String, accessToken: String) throws(SouthgateError) -> Exchange<
        StoredDataSourceConfiguration?
    > {
        let request = HTTPRequest(
            method: .get, url: dataSourceConfigurationURL(agentID: agentID),
            headers: [
                ("Authorization", "Bearer " + accessToken), ("Accept", "application/json"),
                ("Correlation-ID", Self.correlationID()),
            ])
        do {
            return try call("get data source configuration", request, expect: 200) {
                json throws(SouthgateResponseError) in
                guard case .object = json, json["configurationId"] != nil else { return nil }
                return try StoredDataSourceConfiguration(json: json)
            }
        } catch  where error.status == 404 {
            return Exchange(value: nil, serverTime: error.serverTime)
        }
    }

    /// `PUT …/agents/{id}/dataSourceConfiguration` with `If-Match` (`"0"` the first time); 200
    /// returns the new eTag. A mismatch is `.preconditionFailed` (412).
    public func putDataSourceConfiguration(agentID: String, accessToken: String, body: JSONValue, ifMatch: String)
        throws(SouthgateError) -> Exchange<StoredDataSourceConfiguration>
    {
        let request = HTTPRequest(
            method: .put, url: dataSourceConfigurationURL(agentID: agentID),
            headers: [
                ("Authorization", "Bearer " + accessToken), ("Content-Type", "application/json"),
                ("Accept", "application/json"),
                ("If-Match", ifMatch), ("Correlation-ID", Self.correlationID()),
            ], body: Array(body.serialized.utf8))
        return try call("upload data source configuration", request, expect: 200) {
            json throws(SouthgateResponseError) in
            try StoredDataSourceConfiguration(json: json)
        }
    }
}
