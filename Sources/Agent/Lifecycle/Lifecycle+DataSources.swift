// The data source configuration: `datasources.yaml` is the source of truth, uploaded after
// onboarding and after each change (docs/design.md §6).

extension Lifecycle {
    mutating func dataSourcesRead(_ result: Result<DataSourceConfiguration, ConfigurationError>?) -> [Action] {
        switch result {
        case nil:
            dataSources.configuration = nil
            dataSources.problem = nil
            return []
        case .failure(let error)?:
            // The configuration in force (the one last read, and the server's) stays.
            dataSources.problem = error.description
            return [.log(.error, "\(error.description); the previous data source configuration stays in force")]
        case .success(let configuration)?:
            guard configuration.contentHash != dataSources.configuration?.contentHash || dataSources.problem != nil
            else { return [] }
            dataSources.configuration = configuration
            dataSources.problem = nil
            let points = configuration.dataSources.reduce(0) { $0 + $1.dataPoints.count }
            return [
                .log(
                    .info,
                    "data source configuration \(configuration.configurationID): \(configuration.dataSources.count) "
                        + "data sources, \(points) data points"
                )
            ]
        }
    }

    mutating func dataSourcesUploaded(_ outcome: Result<Void, Failure>, now: Double, jitter: Double) -> [Action] {
        switch outcome {
        case .success:
            retry.succeeded()
            guard let record = stored.dataSources else { return [] }
            return [.log(.notice, "data source configuration \(record.configurationID) uploaded (eTag \(record.eTag))")]
        case .failure(let failure):
            observe(serverTime: failure.serverTime, now: now)
            switch failure.refusal {
            case .badRequest?:
                // The server's verdict on this content: report it, do not send it again until
                // the file changes.
                dataSources.refusedHash = dataSources.configuration?.contentHash
                let problem =
                    "southgate refused the data source configuration: \(failure.southgateError?.serverMessage ?? "400")"
                dataSources.problem = problem
                retry.succeeded()  // a verdict, not an outage: nothing to back off from
                return [.log(.error, problem + "; fix datasources.yaml and reload")]
            case .unauthorized?:
                session.token = nil  // refused token: get a new one first
            case nil:
                break
            }
            return failed(failure, doing: "data source upload", now: now, jitter: jitter)
        }
    }

    /// The file's configuration when it differs from what was last uploaded for this identity.
    func dataSourcesToUpload(_ identity: Identity) -> DataSourceConfiguration? {
        guard let configuration = dataSources.configuration, configuration.contentHash != dataSources.refusedHash else {
            return nil
        }
        if let record = stored.dataSources, record.clientID == identity.clientID,
            record.contentHash == configuration.contentHash
        {
            return nil
        }
        return configuration
    }

    /// The configuration values are checked against (docs/relay.md §2): the file's, once it is
    /// uploaded for the current identity; nil before that, or while a changed file waits for its
    /// upload (the server would drop values of a configuration it does not know yet).
    public var dataSourcesInForce: DataSourceConfiguration? {
        guard let identity = stored.identity, let configuration = dataSources.configuration,
            let record = stored.dataSources, record.clientID == identity.clientID,
            record.contentHash == configuration.contentHash
        else { return nil }
        return configuration
    }
}
