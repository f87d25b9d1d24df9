// What the lifecycle tells people: the one status line (docs/design.md §5) and the problems list.

extension Lifecycle {
    /// One line for `STATUS=` and the log.
    public func statusLine(now: Double) -> String {
        var parts = [String]()
        switch phase {
        case .waitingForBoarding:
            parts.append("waiting for a boarding file")
            if let problem = boardingFile.problem { parts.append(problem) }
        case .onboarding: parts.append("onboarding")
        case .rotating: parts.append("rotating credentials")
        case .needsReboarding: parts.append(health.reboardingReason ?? "needs a new boarding file")
        case .onboarded: parts.append("onboarded")
        }
        if phase == .onboarded || phase == .rotating {
            if let token = session.token {
                parts.append("token valid until \(session.clock.serverTime(at: token.expiresAt))")
            } else {
                parts.append("no token yet")
            }
            if let due = rotationDueLocal {
                parts.append(due > now ? "secret rotates in \(Format.duration(due - now))" : "rotation due")
            }
        }
        if dataSources.problem != nil { parts.append("data source configuration problem (see the log)") }
        if unstored != nil { parts.append("credentials not stored yet, retrying (see the log)") }
        if retry.offline, let retryAt = retry.retryAt {
            parts.append("offline, retrying in \(Format.duration(max(0, retryAt - now)))")
        }
        return parts.joined(separator: "; ")
    }

    /// Everything the operator must act on, most important first.
    public var problems: [String] {
        [health.reboardingReason, unstored?.problem, boardingFile.problem, dataSources.problem].compactMap { $0 }
    }
}
