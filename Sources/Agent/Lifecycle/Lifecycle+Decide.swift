// What to do next, once the event's consequences are in: one operation at a time, in order of
// priority, or a timer for the next deadline.

extension Lifecycle {
    /// With nothing in flight, starts the next due operation or sets the timer for it.
    mutating func decide(now: Double) -> [Action] {
        guard inFlight == nil else { return [] }
        guard let record = unstored, let storeRetryAt = record.retryAt else { return decideOperation(now: now) }
        // Storing credentials in use comes first, on its own backoff: a failing disk must not
        // stop tokens from being served meanwhile.
        if now >= storeRetryAt {
            unstored?.retryAt = nil
            inFlight = .store
            return [.store(stored)]
        }
        return decideOperation(now: now).map { action in
            guard case .wakeUp(let at) = action else { return action }
            return .wakeUp(at: min(at ?? storeRetryAt, storeRetryAt))
        }
    }

    private mutating func decideOperation(now: Double) -> [Action] {
        if let retryAt = retry.retryAt, now < retryAt { return [.wakeUp(at: retryAt)] }
        retry.retryAt = nil
        if let token = session.token, now >= token.expiresAt { session.token = nil }
        let serverNow = session.clock.serverTime(at: now)

        // A boarding file not used yet: onboard with it, even while an older identity still works.
        if let boarding = boardingFile.configuration, boarding.fingerprint != stored.identity?.boardingFingerprint,
            !stored.hasUsed(boarding.fingerprint)
        {
            if let expiry = boarding.expiry, expiry <= serverNow {
                let problem = "its initial access token expired at \(expiry); download a new boarding file"
                var actions = [Action]()
                if boardingFile.problem != problem {
                    actions.append(.log(.error, "boarding file for \(boarding.clientID): \(problem)"))
                }
                boardingFile.problem = problem
                if stored.identity == nil { return actions + [.wakeUp(at: nil)] }
            } else {
                inFlight = .register(fingerprint: boarding.fingerprint)
                return [.register(boarding, stored)]
            }
        }

        guard let identity = stored.identity, health.reboardingReason == nil else { return [.wakeUp(at: nil)] }

        if identity.rotationInProgress || session.recovery == .rotateWithCurrent
            || session.recovery == .rotateWithPrevious
            || isRotationDue(identity, now: now)
        {
            let choice: RegistrationChoice = session.recovery == .rotateWithPrevious ? .previous : .current
            inFlight = .rotate(choice)
            var text = "rotating credentials"
            if identity.rotationInProgress {
                text += " (resuming)"
            } else if let expiry = identity.current.secretExpiry, serverNow >= expiry {
                // Expiry is never concluded from a clock alone (docs/protocol.md §5.1, contested):
                // southgate's answer to this rotation decides; a 401 then needs a new boarding file.
                text += "; the secret expired at \(expiry) by southgate's clock as last seen, asking southgate"
            } else if let expiry = identity.current.secretExpiry {
                text += "; the secret expires at \(expiry)"
            }
            return [.log(.info, text), .rotate(choice, stored)]
        }

        if session.token == nil || now >= session.token!.refreshAt {
            inFlight = .token
            return [.fetchToken(identity, clockOffset: session.clock.assertionOffset)]
        }

        if let configuration = dataSourcesToUpload(identity), let token = session.token {
            inFlight = .uploadDataSources
            return [.uploadDataSources(configuration, identity, accessToken: token.value, stored)]
        }

        if identity.profile == .rsa3072 && identity.pendingKeyPEM == nil {
            inFlight = .prepareKey
            return [.prepareKey(stored)]
        }

        let deadlines = [session.token?.refreshAt, rotationDueLocal].compactMap { $0 }
        return [.wakeUp(at: deadlines.min())]
    }

    private func isRotationDue(_ identity: Identity, now: Double) -> Bool {
        if let due = identity.rotationDue(fraction: policy.rotationFraction), session.clock.serverTime(at: now) >= due {
            return true
        }
        #if HUBAGENT_TEST_HOOKS
            if let interval = policy.testRotationInterval, let since = credentialsSince, now >= since + interval {
                return true
            }
        #endif
        return false
    }
}
