import Agent

/// `boarding.expiry`: the initial access token of a boarding file that is still to be used has
/// not expired (an expired one cannot onboard: the daemon exits 78 on it).
enum BoardingExpiryCheck: HealthCheck {
    static let id = "boarding.expiry"

    /// Less than a day left: the gateway must onboard soon, or the file is useless.
    static let warningWindow = 86_400.0

    static func run(_ context: CheckContext) -> CheckResult {
        let path = context.boardingSource.path
        let download = "download a new boarding file from Asset Manager and save it as \(path)"
        let identity = context.identity
        guard let boarding = context.boarding else {
            if let identity { return .ok("no boarding file; none needed: onboarded as \(identity.clientID)") }
            return .skip(
                "no boarding file (see config.boarding)",
                fix: "download the boarding configuration from Asset Manager and save it as \(path)")
        }
        guard case .success(let configuration) = boarding else {
            return .skip("the boarding file is not valid (see config.boarding)", fix: "see config.boarding")
        }
        var used = false
        if case .loaded(let loaded) = context.state { used = loaded.state.hasUsed(configuration.fingerprint) }
        if used {
            if let identity {
                let how =
                    identity.boardingFingerprint == configuration.fingerprint
                    ? "onboarded with it as \(identity.clientID)" : "the agent runs as \(identity.clientID)"
                return .ok("\(path) was used already (\(how)): its expiry no longer matters")
            }
            return .fail(
                "\(path) was used already and no identity is stored: its initial access token is never sent twice",
                fix: download)
        }
        guard let expiry = configuration.expiresAt else {
            return .ok("\(path): the file gives no expiry for its initial access token")
        }
        let now = context.clock.now()
        if expiry <= now {
            return .fail(
                "the initial access token in \(path) expired at \(Format.time(expiry)) "
                    + "(\(Format.duration(now - expiry)) ago); it cannot onboard",
                fix: download)
        }
        if expiry - now < warningWindow {
            return .warn(
                "the initial access token in \(path) expires at \(Format.time(expiry)) (in "
                    + "\(Format.duration(expiry - now)))",
                fix: "start hubagent before then (`systemctl start hubagent`), or later \(download)")
        }
        return .ok(
            "the initial access token in \(path) is valid until \(Format.time(expiry)) (in "
                + "\(Format.duration(expiry - now)))"
        )
    }
}
