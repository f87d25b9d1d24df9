import Agent

/// `config.boarding`: the boarding file parses. Once an identity is stored the agent no longer
/// needs it, so then a missing file is fine and a broken one only a warning.
enum ConfigBoardingCheck: HealthCheck {
    static let id = "config.boarding"

    static func run(_ context: CheckContext) -> CheckResult {
        let path = context.boardingSource.path
        let identity = context.identity
        switch context.boarding {
        case nil:
            if let identity { return .ok("no \(path); not needed: onboarded as \(identity.clientID)") }
            return .fail(
                "no boarding file at \(path), and \(context.noIdentityReason): the agent cannot onboard",
                fix: "download the boarding configuration from Asset Manager and save it as \(path)")
        case .failure(let error)?:
            let fix = error.fix ?? "correct the file; `hubagent validate \(path)` checks it again"
            if let identity {
                return .warn(
                    "\(error.checkMessage) (the agent runs on as \(identity.clientID), its stored identity)", fix: fix)
            }
            return .fail(error.checkMessage, fix: fix)
        case .success(let boarding)?:
            return .ok(
                "\(path): boarding file for \(boarding.clientID) (\(boarding.profile.rawValue)), tenant "
                    + "\(boarding.tenant), \(boarding.baseURL)"
            )
        }
    }
}
