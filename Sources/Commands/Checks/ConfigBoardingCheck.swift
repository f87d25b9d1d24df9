import Agent
import Platform

/// `config.boarding`: the boarding file parses, and nobody but root can read it (its initial access
/// token is a bearer secret; under the unit systemd reads it for the service, docs/design.md §3).
/// Once an identity is stored the agent no longer needs it, so then a missing file is fine and a
/// broken one only a warning.
enum ConfigBoardingCheck: HealthCheck {
    static let id = "config.boarding"

    static func run(_ context: CheckContext) -> CheckResult {
        let result = parsed(context)
        // The unit's configuration directory: there the file is root's and systemd reads it. A
        // daemon run by hand on another directory reads the file as its own user.
        guard result.status == .ok || result.status == .warn,
            context.layout.configurationDirectory == Layout.defaultConfigurationDirectory,
            let exposure = exposure(context.boardingSource.path)
        else { return result }
        let path = context.boardingSource.path
        return .warn(
            "\(path) \(exposure): any local user could take its initial access token and onboard in this "
                + "gateway's place",
            fix: "chown root:root \(path) && chmod 600 \(path)   (systemd hands it to the service)")
    }

    /// How other users could read the boarding file, nil when only root (or the owner) can.
    static func exposure(_ path: String) -> String? {
        guard let entry = try? DirectoryEntry.of(path), entry.kind == .file else { return nil }
        if entry.uid != 0 { return "belongs to uid \(entry.uid), not to root" }
        if entry.mode & 0o044 != 0 { return "is readable by other users (mode \(String(entry.mode, radix: 8)))" }
        return nil
    }

    private static func parsed(_ context: CheckContext) -> CheckResult {
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
