// The access token: refreshing it, recovering from a refused assertion (docs/design.md §4
// rules 1, 6, 7), and what local programs asking for one are told.

extension Lifecycle {
    mutating func tokenFetched(_ outcome: Result<TokenGrant, Failure>, now: Double, jitter: Double) -> [Action] {
        switch outcome {
        case .success(let grant):
            observe(serverTime: grant.serverTime, now: now)
            retry.succeeded()
            session.recovery = .none
            let lifetime = min(grant.expiresIn, policy.maximumTokenLifetime)
            let expiresAt = now + lifetime
            session.token = AccessToken(
                value: grant.value, expiresAt: expiresAt,
                refreshAt: now + policy.tokenRefreshDelay(lifetime: lifetime))
            return [.log(.info, "access token valid until \(session.clock.serverTime(at: expiresAt))")]
        case .failure(let failure):
            guard failure.refusal != nil else {
                return failed(failure, doing: "token request", now: now, jitter: jitter)
            }
            // A refused assertion: clock first, then rotate with the current RAT, then with the
            // previous one; only then is the agent offboarded (docs/design.md §4 rule 1).
            // At any stage: a resync that changes nothing cannot repeat, because the next
            // refusal then carries a server time that matches the new offset.
            if let reported = failure.serverTime,
                abs(reported - session.clock.serverTime(at: now).seconds) > policy.clockResyncThreshold
            {
                session.clock.resync(reported, at: now)
                if session.recovery == .none { session.recovery = .clockResynced }
                let offset = session.clock.assertionOffset
                return [
                    .log(
                        .warning,
                        "token refused (\(failure)); the clock differs from southgate's by \(Format.duration(offset)); "
                            + "retrying with the server's time"
                    )
                ]
            }
            observe(serverTime: failure.serverTime, now: now)
            switch session.recovery {
            case .none, .clockResynced:
                session.recovery = .rotateWithCurrent
                return [.log(.warning, "token refused (\(failure)); rotating credentials to recover")]
            case .rotateWithCurrent, .rotateWithPrevious, .rotated:
                return needsReboarding(
                    "offboarded: southgate refuses even freshly rotated credentials; drop a new boarding file into the "
                        + "configuration directory",
                    error: failure.description, now: now)
            }
        }
    }

    /// What a local program asking for a token (the token socket) is told.
    public enum TokenAnswer: Equatable, Sendable {
        /// This token; `expiresAt` on the gateway's clock, the one local programs compare with.
        case token(Secret, expiresAt: Double)
        /// One is being fetched, or will be at once: wait for the next event.
        case wait
        /// None can be had now, and why.
        case unavailable(String)
    }

    /// The answer for a program asking at `now` (docs/design.md §4 rule 6): the cached token
    /// while it is fresh; otherwise wait for the one being fetched, shared by every waiter.
    public func tokenAnswer(now: Double) -> TokenAnswer {
        // Fresh, or still valid while refreshing is failing and backing off: waiting for the
        // next attempt would only make the caller time out.
        if let token = session.token, now < token.refreshAt || (retry.retryAt != nil && isUsable(token, now: now)) {
            return .token(token.value, expiresAt: token.expiresAt)
        }
        switch phase {
        case .onboarded, .onboarding, .rotating: return .wait
        case .waitingForBoarding, .needsReboarding: return .unavailable(statusLine(now: now))
        }
    }

    /// The answer for programs already waiting, after `event` was handled at `now`: a fresh
    /// token answers everyone; a failed fetch answers with the token still usable, or with why
    /// there is none; otherwise they keep waiting unless no token can come at all.
    public func tokenAnswerForWaiters(after event: Event, now: Double) -> TokenAnswer {
        if let token = session.token, now < token.refreshAt { return .token(token.value, expiresAt: token.expiresAt) }
        guard case .tokenFetched(.failure(let failure)) = event else {
            if phase == .needsReboarding || phase == .waitingForBoarding { return .unavailable(statusLine(now: now)) }
            return .wait
        }
        if let token = session.token, isUsable(token, now: now) {
            return .token(token.value, expiresAt: token.expiresAt)
        }
        return .unavailable(failure.description)
    }

    /// Whether `token` still leaves a program time to use it.
    private func isUsable(_ token: AccessToken, now: Double) -> Bool {
        now < token.expiresAt - policy.tokenHandOutMargin
    }
}
