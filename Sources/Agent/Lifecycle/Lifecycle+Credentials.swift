// The rules about credentials: the boarding file, onboarding, rotation, and storing credentials
// the server issued (docs/design.md §4 rules 1, 2, 3, 5).

extension Lifecycle {
    mutating func boardingRead(_ result: Result<BoardingConfiguration, ConfigurationError>?) -> [Action] {
        switch result {
        case nil:
            boardingFile = BoardingFileState()
            return []
        case .failure(let error)?:
            // A broken new file must not take away a working identity: keep running, report it.
            boardingFile.problem = error.description
            return [.log(.error, error.description)]
        case .success(let configuration)?:
            // The same file read again (SIGHUP, a `touch`) changes nothing, its problem included.
            guard configuration.fingerprint != boardingFile.configuration?.fingerprint else { return [] }
            boardingFile = BoardingFileState(configuration: configuration, problem: nil)
            if configuration.fingerprint == stored.identity?.boardingFingerprint {
                return [.log(.debug, "boarding file unchanged: this identity was onboarded from it")]
            }
            if stored.hasUsed(configuration.fingerprint) {
                boardingFile.problem =
                    "its initial access token was already used; a new boarding file is needed to onboard again"
                return [
                    .log(
                        .notice,
                        "boarding file for \(configuration.clientID) was already used; not sending its initial access "
                            + "token again"
                    )
                ]
            }
            return [
                .log(
                    .info,
                    "new boarding file for \(configuration.clientID) (\(configuration.profile.rawValue)), tenant "
                        + "\(configuration.tenant)"
                )
            ]
        }
    }

    /// `fingerprint` is the boarding file that was sent, which need not be the one read last.
    mutating func registered(_ outcome: Result<Double?, Failure>, fingerprint: String?, now: Double, jitter: Double)
        -> [Action]
    {
        switch outcome {
        case .success(let serverTime):
            observe(serverTime: serverTime, now: now)
            retry.succeeded()
            credentialsObtained(at: now)
            session.token = nil
            session.recovery = .none
            health.reboardingReason = nil
            guard let identity = stored.identity else { return [] }
            var actions: [Action] = []
            if let sent = boardingFile.configuration, sent.fingerprint == identity.boardingFingerprint,
                sent.clientID != identity.clientID
            {
                actions.append(
                    .log(
                        .warning,
                        "southgate registered client id \(identity.clientID), the boarding file names "
                            + "\(sent.clientID); using the server's"
                    ))
            }
            actions.append(
                .log(.notice, "onboarded as \(identity.clientID) (\(identity.profile.rawValue)) at \(identity.baseURL)")
            )
            if let expiry = identity.current.secretExpiry {
                actions.append(.log(.info, "credentials valid until \(expiry)"))
            }
            return actions
        case .failure(let failure):
            observe(serverTime: failure.serverTime, now: now)
            guard failure.refusal != nil, let fingerprint, let error = failure.southgateError else {
                return failed(failure, doing: "onboarding", now: now, jitter: jitter)
            }
            // Refused for good (used, expired or foreign IAT): never send it again (rule 2).
            stored.markUsed(fingerprint)
            stored.onboarding = nil
            retry.succeeded()
            boardingFile.problem =
                "southgate refused its initial access token (\(error.serverMessage ?? "\(error.status ?? 0)")); "
                + "download a new boarding file"
            var actions: [Action] = [
                .persist(stored),
                .log(
                    .error,
                    "onboarding refused: \(error); the initial access token cannot be used again (if an earlier "
                        + "attempt's answer was lost to a crash or the network, southgate may already have registered "
                        + "this agent: offboard it in Asset Manager); drop a new boarding file into the "
                        + "configuration directory"
                ),
            ]
            if let identity = stored.identity {
                actions.append(.log(.notice, "keeping the current identity \(identity.clientID)"))
            } else {
                health.reboardingReason = "onboarding refused"
            }
            return actions
        }
    }

    mutating func rotated(
        _ outcome: Result<Double?, Failure>, using choice: RegistrationChoice, now: Double, jitter: Double
    ) -> [Action] {
        switch outcome {
        case .success(let serverTime):
            observe(serverTime: serverTime, now: now)
            retry.succeeded()
            credentialsObtained(at: now)
            // New credentials are proven by fetching a token with them right away.
            session.token = nil
            if session.recovery != .none { session.recovery = .rotated }
            var text = "credentials rotated"
            if choice == .previous { text += " with the previous registration access token" }
            if let expiry = stored.identity?.current.secretExpiry { text += "; valid until \(expiry)" }
            return [.log(.notice, text)]
        case .failure(let failure):
            observe(serverTime: failure.serverTime, now: now)
            guard failure.refusal == .unauthorized else {
                return failed(failure, doing: "rotation", now: now, jitter: jitter)
            }
            // Refused because the secret ran out (the server's clock says so): that is not an
            // offboarding, and the operator should hear the real reason.
            if session.clock.isKnown, let expiry = stored.identity?.current.secretExpiry,
                session.clock.serverTime(at: now) >= expiry
            {
                return needsReboarding(Self.expiredReason(expiry), error: failure.description, now: now)
            }
            if choice == .current, stored.identity?.previous != nil {
                session.recovery = .rotateWithPrevious
                return [
                    .log(
                        .warning,
                        "rotation refused with the current registration access token (\(failure)); trying the previous "
                            + "one"
                    )
                ]
            }
            return needsReboarding(
                "offboarded: southgate refuses this agent's credentials; drop a new boarding file into the "
                    + "configuration directory",
                error: failure.description, now: now)
        }
    }

    /// The server's answer is in use but not on disk: keep working with it (a restart now would
    /// lose it, and with it, after onboarding, the used initial access token) and retry storing
    /// it with backoff, so that a disk that was full for a while costs nothing.
    mutating func storeFailed(_ failure: Failure, now: Double, jitter: Double) -> [Action] {
        var record = unstored ?? UnstoredCredentials(since: stored.generation, problem: "", failures: 0, retryAt: nil)
        record.failures += 1
        let delay = policy.backoff(failures: record.failures, jitter: jitter)
        record.retryAt = now + delay
        record.problem =
            "the credentials in use are not stored yet (\(failure)); free space in the state directory, do not stop "
            + "hubagent meanwhile"
        unstored = record
        health.record(failure.description, at: now)
        return [
            .log(record.failures == 1 ? .error : .warning, "\(record.problem); retrying in \(Format.duration(delay))")
        ]
    }

    mutating func storedAgain() -> [Action] {
        let attempts = unstored?.failures ?? 0
        unstored = nil
        return [
            .log(
                .notice,
                "credentials stored (generation \(stored.generation)) after \(attempts) failed "
                    + "attempt\(attempts == 1 ? "" : "s")"
            )
        ]
    }
}
