/// What came of one exchange request.
public enum UploadOutcome: Equatable, Sendable {
    /// 200: the service has the batch (docs/protocol.md §14: MCL accepts exactly 200).
    case accepted
    /// No answer: a network error or a timeout.
    case transportFailure
    /// Any other answer, with `Retry-After` in seconds when the server sent one.
    case status(Int, retryAfter: Double?)
}

/// Why the relay stopped sending until something outside it changes (docs/relay.md §4).
public enum UploadPauseReason: Equatable, Sendable {
    /// A second 401 after a token refresh: waiting for the lifecycle's next token.
    case unauthorized
    /// 403: the agent may not write; tried again every `pauseRetryInterval`.
    case forbidden
    /// A status the outcome table does not name; tried again every `pauseRetryInterval`.
    case unexpectedStatus(Int)
}

/// Why records leave the queue without reaching the service.
public enum DeadLetterReason: Equatable, Sendable {
    /// The unit alone is estimated over the request ceiling and was never sent.
    case overCeiling(estimatedBytes: Int)
    /// The service refused the unit on its own with this status (400 or 413). The driver adds the
    /// answer's body and the request's Correlation-ID.
    case rejected(status: Int)
}

/// What the driver does, in order.
public enum UploadDecision: Equatable, Sendable {
    /// Encode and send this batch at gateway time `at` (now if already past), then report its
    /// outcome. Only ever one send is outstanding.
    case send(Batch, at: Double)
    /// Make the acknowledged cursor durable through this sequence (docs/relay.md §3).
    case advanceCursor(through: UInt64)
    /// Write these units to the dead-letter file before the cursor passes them.
    case deadLetter([BatchUnit], reason: DeadLetterReason)
    /// Ask the lifecycle for its one shared token refresh; report `tokenRenewed` when a new token
    /// is there.
    case requestTokenRefresh
    /// Report: the relay pauses (ingest goes on).
    case paused(UploadPauseReason)
}

/// The upload's retry and back-off state and the work list of the batch in hand (docs/relay.md §4).
/// Pure: the driver feeds it events with the time and a jitter value, and performs its decisions.
///
/// Outcome table (docs/relay.md §4):
/// - 200: advance the cursor through the sent batch; the next part of the work list goes now. Any
///   success resets every back-off and restores the batch target by an eighth of the configured
///   size (additive increase after the multiplicative decrease of 429).
/// - Network error, timeout, 5xx, 408: the same batch again after `backoffInitial · 2^(n−1)` capped
///   at `backoffMaximum`, spread by jitter between half and all of it (as the lifecycle does,
///   docs/design.md §4), forever. A Retry-After on these answers is a floor.
/// - 401: one token refresh through the lifecycle, then the same batch once more; a second 401
///   before any success pauses until `tokenRenewed` (ingest continues).
/// - 403: pause and report; try again every `pauseRetryInterval`.
/// - 429: wait Retry-After (clamped to `retryAfterMinimum…retryAfterMaximum`), else 30 s doubling
///   to 5 min plus up to 10 % jitter (never sooner than that); halve the batch target for the
///   next batches (not below `minimumBatchBytes`) and split the batch in hand.
/// - 413: split; a batch that cannot be split (one key) is a dead letter. A unit estimated over the
///   ceiling is a dead letter before it is sent.
/// - 400: bisect: send the halves in turn; a part that cannot be split is a dead letter with the
///   answer, and the rest is sent: the queue head never blocks.
/// - Any other status (other 4xx, 3xx, a 2xx other than 200): paused and reported like 403. Such
///   an answer says nothing about the records (a wrong URL, a proxy), so bisecting would
///   dead-letter good data.
public struct UploadPolicy: Equatable, Sendable {
    public let settings: UploadSettings
    /// The size at which the next batch closes: `relay_batch_bytes`, less after 429.
    public private(set) var batchTarget: Int
    /// The batch in hand, split into parts in sequence order; the first is the one being sent.
    public private(set) var work: [Batch] = []
    /// A send decision was made and its outcome is not yet reported.
    public private(set) var outstanding = false
    /// Consecutive transient failures (network, timeout, 5xx, 408).
    public private(set) var failures = 0
    /// Consecutive 429s.
    public private(set) var throttles = 0
    /// 401s since the last success.
    public private(set) var unauthorized = 0
    /// Waiting for the lifecycle's token refresh after a first 401.
    public private(set) var awaitingToken = false
    public private(set) var pause: UploadPauseReason?
    /// The last answer that was not a success, for status reports.
    public private(set) var lastStatus: Int?
    /// When the outstanding send is due, for status reports ("next attempt in …").
    public private(set) var scheduledAt: Double?
    /// When the batch in hand was given up while waiting for its next attempt: the next batch
    /// waits as long, so that giving up work never cuts a back-off short.
    private var holdUntil: Double?

    public init(settings: UploadSettings = UploadSettings()) {
        self.settings = settings
        batchTarget = settings.batchBytes
    }

    /// No batch in hand: make the next one when `FlushPolicy` says so, with `batchTarget`.
    public var isIdle: Bool { work.isEmpty }

    /// A new batch to send. Ignored unless idle: one batch, one request in flight.
    public mutating func batchReady(_ batch: Batch, now: Double) -> [UploadDecision] {
        guard isIdle, !outstanding, !batch.units.isEmpty else { return [] }
        work = [batch]
        defer { holdUntil = nil }
        return next(at: max(now, holdUntil ?? now))
    }

    /// Gives up the batch in hand, which is not in flight: its records are read from the journal
    /// again (after a configuration change, they are checked again). A back-off in progress
    /// carries over to the next batch.
    public mutating func abandonWork() {
        guard !work.isEmpty else { return }
        if outstanding, let scheduledAt { holdUntil = scheduledAt }
        work = []
        outstanding = false
        scheduledAt = nil
    }

    /// The journal dropped every record through `sequence` (`drop_oldest`, docs/relay.md §3):
    /// they leave the batch in hand too, so that what is counted as dropped is never also sent.
    /// A send already scheduled keeps its time, with what is left.
    public mutating func discard(through sequence: UInt64) {
        guard !work.isEmpty else { return }
        work = work.compactMap { batch in
            let units = batch.units.compactMap { $0.trimmed(after: sequence) }
            return units.isEmpty ? nil : Batch(units: units)
        }
        if work.isEmpty { abandonEmptyWork() }
    }

    private mutating func abandonEmptyWork() {
        if outstanding, let scheduledAt { holdUntil = scheduledAt }
        outstanding = false
        scheduledAt = nil
    }

    /// The outcome of the outstanding send; `jitter` in [0, 1).
    public mutating func outcome(_ outcome: UploadOutcome, now: Double, jitter: Double) -> [UploadDecision] {
        guard outstanding, let head = work.first else { return [] }
        outstanding = false
        scheduledAt = nil
        var outcome = outcome
        if case .status(200, _) = outcome { outcome = .accepted }
        switch outcome {
        case .accepted:
            failures = 0
            throttles = 0
            unauthorized = 0
            awaitingToken = false
            pause = nil
            batchTarget = min(settings.batchBytes, batchTarget + settings.batchBytes / 8)
            work.removeFirst()
            return [.advanceCursor(through: head.lastSequence)] + next(at: now)
        case .transportFailure:
            return retryAfterFailure(retryAfter: nil, now: now, jitter: jitter)
        case .status(let status, let retryAfter):
            lastStatus = status
            switch status {
            case 408, 500...599:
                return retryAfterFailure(retryAfter: retryAfter, now: now, jitter: jitter)
            case 401:
                unauthorized += 1
                if unauthorized == 1 {
                    awaitingToken = true
                    return [.requestTokenRefresh]
                }
                awaitingToken = false
                pause = .unauthorized
                return [.paused(.unauthorized)]
            case 403:
                return pauseAndRetry(.forbidden, now: now)
            case 429:
                throttles += 1
                batchTarget = max(UploadSettings.minimumBatchBytes, batchTarget / 2)
                let delay =
                    retryAfter.map(clampedRetryAfter)
                    ?? exponential(
                        count: throttles, initial: settings.throttleInitial, maximum: settings.throttleMaximum)
                    * (1 + 0.1 * jitter)
                split(head)
                return [schedule(at: now + delay)]
            case 400, 413:
                if split(head) { return next(at: now) }
                work.removeFirst()
                return [
                    .deadLetter(head.units, reason: .rejected(status: status)),
                    .advanceCursor(through: head.lastSequence),
                ] + next(at: now)
            default:
                return pauseAndRetry(.unexpectedStatus(status), now: now)
            }
        }
    }

    /// The lifecycle has a new token. Resends at once when the relay waits for one (after a 401);
    /// otherwise nothing.
    public mutating func tokenRenewed(now: Double) -> [UploadDecision] {
        guard !outstanding, !work.isEmpty, awaitingToken || pause != nil else { return [] }
        awaitingToken = false
        return next(at: now)
    }

    // MARK: - Steps

    /// Sends the head of the work list at `time`, after dead-lettering parts that are too large
    /// to send and splitting those that can be.
    private mutating func next(at time: Double) -> [UploadDecision] {
        var decisions: [UploadDecision] = []
        while let head = work.first, head.estimatedBytes > UploadSettings.maximumBatchBytes {
            if split(head) { continue }
            work.removeFirst()
            decisions.append(.deadLetter(head.units, reason: .overCeiling(estimatedBytes: head.estimatedBytes)))
            decisions.append(.advanceCursor(through: head.lastSequence))
        }
        guard !work.isEmpty else { return decisions }
        return decisions + [schedule(at: time)]
    }

    /// The send of the work list's head; the work list must not be empty.
    private mutating func schedule(at time: Double) -> UploadDecision {
        outstanding = true
        scheduledAt = time
        return .send(work[0], at: time)
    }

    /// Replaces the head by its halves; false when it cannot be split.
    @discardableResult
    private mutating func split(_ head: Batch) -> Bool {
        guard let (first, second) = head.halves() else { return false }
        work.replaceSubrange(0..<1, with: [first, second])
        return true
    }

    private mutating func retryAfterFailure(retryAfter: Double?, now: Double, jitter: Double) -> [UploadDecision] {
        failures += 1
        var delay =
            exponential(count: failures, initial: settings.backoffInitial, maximum: settings.backoffMaximum)
            * (0.5 + 0.5 * jitter)
        if let retryAfter { delay = max(delay, clampedRetryAfter(retryAfter)) }
        return [schedule(at: now + delay)]
    }

    private mutating func pauseAndRetry(_ reason: UploadPauseReason, now: Double) -> [UploadDecision] {
        pause = reason
        return [.paused(reason), schedule(at: now + settings.pauseRetryInterval)]
    }

    private func clampedRetryAfter(_ seconds: Double) -> Double {
        guard seconds.isFinite else { return settings.retryAfterMaximum }
        return min(max(seconds, settings.retryAfterMinimum), settings.retryAfterMaximum)
    }

    private func exponential(count: Int, initial: Double, maximum: Double) -> Double {
        min(initial * Double(1 << min(max(count - 1, 0), 30)), maximum)
    }
}
