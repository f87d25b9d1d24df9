public import Agent
import Crypto
public import Dispatch
public import JSON
public import Platform
public import Southgate
import Synchronization

/// What the relay asks of the agent: its one access token, and a refresh when the exchange
/// refused it (docs/relay.md §4: one shared refresh through the lifecycle).
public protocol AccessTokenSource: Sendable {
    func withAccessToken(_ completion: @escaping AgentDaemon.TokenCompletion)
    func refuseAccessToken(_ token: Secret)
}

extension AgentDaemon: AccessTokenSource {}

/// The data relay's driver (docs/relay.md): takes values from local programs, keeps them in the
/// journal, and uploads them to the exchange endpoint. It performs what the pure parts decide —
/// `TimeseriesIngest`/`EventIngest` (what is accepted), `Batcher`/`FlushPolicy` (what goes when),
/// `UploadPolicy` (what an answer means) — and owns no rule of its own beyond their order.
///
/// Threads: requests are parsed on a concurrent queue with a snapshot of the catalog; everything
/// that touches the journal or the policy runs on `queue`; the HTTPS request runs on `sendQueue`
/// (libcurl blocks). The agent's own queues are never waited on: tokens come by callback.
// Unchecked: the mutable state is touched only on `queue`; `snapshot` is behind a Mutex.
public final class RelayDaemon: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var settings: RelaySettings
        /// `relay/` under the state directory.
        public var directory: String
        public var transportOptions: TransportOptions
        public var clock: any WallClock

        public init(
            settings: RelaySettings, directory: String, transportOptions: TransportOptions, clock: any WallClock
        ) {
            self.settings = settings
            self.directory = directory
            self.transportOptions = transportOptions
            self.clock = clock
        }
    }

    /// What a request is checked against, readable from the parsing threads.
    private struct Snapshot: Sendable {
        var catalog: DataPointCatalog?
        var serverClockOffset: Double?
        var accepting = true
        var reason: String = "hubagent has no identity yet"
    }

    public let queue = DispatchQueue(label: "hubagent.relay")
    private let sendQueue = DispatchQueue(label: "hubagent.relay.send")
    private let parseQueue = DispatchQueue(label: "hubagent.relay.parse", attributes: .concurrent)
    private let configuration: Configuration
    private let logger: Logger
    private let tokens: any AccessTokenSource
    private let transport: CurlTransport
    private let snapshot = Mutex(Snapshot())

    private let journal: Journal
    private var context: UploadContext?
    private var policy: UploadPolicy
    private var flush: FlushPolicy
    private var rateLimiter: RateLimiter?
    /// The last sequence handed to the policy in a batch: the next batch starts after it.
    private var batchedThrough: UInt64
    /// Unsent, not yet batched: the estimate of their exchange bytes and the oldest ingest time.
    private var unbatchedBytes = 0
    private var oldestUnbatched: Double?
    /// Answers waiting for the fdatasync that covers them (group commit, docs/relay.md §3): nil
    /// once it succeeded, else what to answer.
    private var awaitingSync: [@Sendable (Answer?) -> Void] = []
    private var syncScheduled = false
    private var timer: (any DispatchSourceTimer)?
    private var timerAt: Double?
    private var sending = false
    /// The sequences of the request in flight.
    private var inFlight: ClosedRange<UInt64>?
    /// The token the request in flight used: the one to refuse on 401.
    private var sentToken: Secret?
    private var status = RelayStatus()
    private var stopping: (@Sendable () -> Void)?

    /// Called on `queue` at most once a second while the status changes.
    public var onStatusChange: (@Sendable (RelayStatus) -> Void)?
    private var statusDirty = false
    private var statusTimer: (any DispatchSourceTimer)?

    /// Opens the journal (recovering a torn tail); the relay serves once `start` is called.
    public init(configuration: Configuration, tokens: any AccessTokenSource, logger: Logger) throws(JournalError) {
        self.configuration = configuration
        self.logger = logger
        self.tokens = tokens
        let settings = configuration.settings
        let maxDisk = JournalSpace.effectiveMaxDisk(configured: settings.maxDisk, directory: configuration.directory)
        if maxDisk < settings.maxDisk {
            logger.warning(
                "relay_max_disk \(settings.maxDisk) bytes is more than a quarter of the free space; using \(maxDisk)")
        }
        let (journal, recovery) = try Journal.open(
            directory: configuration.directory,
            limits: JournalLimits(
                maxDiskBytes: maxDisk, fullPolicy: settings.fullPolicy == .rejectNew ? .rejectNew : .dropOldest))
        self.journal = journal
        if !recovery.isClean { logger.warning("relay journal recovered: \(recovery)") }
        policy = UploadPolicy(
            settings: UploadSettings(
                batchBytes: settings.batchBytes, flushInterval: settings.flushInterval,
                uploadRate: settings.uploadRate.map(Double.init)))
        flush = FlushPolicy(flushInterval: settings.flushInterval)
        let now = configuration.clock.now()
        rateLimiter = settings.uploadRate.map { RateLimiter(bytesPerSecond: Double($0), now: now) }
        transport = CurlTransport(options: configuration.transportOptions)
        batchedThrough = journal.acknowledged
        let usage = journal.usage
        if usage.unacknowledgedRecords > 0 {
            // A backlog from before the restart: sent at once, batch after batch, until a batch
            // reaches the end of the journal (buildBatch).
            unbatchedBytes = policy.batchTarget
            oldestUnbatched = usage.oldestUnacknowledgedIngestTime.map { Double($0) / 1000 }
            logger.notice("relay: \(usage.unacknowledgedRecords) records queued from before the restart")
        }
        status.maxDiskBytes = maxDisk
    }

    /// Starts the timers; values are taken once the agent publishes an upload context.
    public func start() {
        queue.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { [weak self] in self?.timerFired() }
            timer.schedule(wallDeadline: .distantFuture)
            timer.resume()
            self.timer = timer
            refreshStatus()
            publishStatus()
            decide()
        }
    }

    // MARK: Context from the agent

    /// The agent's identity, configuration in force and clock changed (on any queue).
    public func update(_ context: UploadContext?) {
        queue.async { [self] in
            let previous = self.context
            self.context = context
            let catalog = context?.dataSources.map(DataPointCatalog.init)
            snapshot.withLock {
                $0.catalog = catalog
                $0.serverClockOffset = context?.serverClockOffset
                $0.reason =
                    context == nil
                    ? "hubagent has no usable identity (see hubagent status)"
                    : "no data source configuration in force yet (datasources.yaml, uploaded after onboarding)"
            }
            if let catalog, previous?.dataSources?.configurationID != catalog.configurationID {
                logger.info("relay: checking values against data source configuration \(catalog.configurationID)")
            }
            if previous?.dataSources != context?.dataSources, !policy.isIdle {
                // The batch in hand was checked against the previous configuration: read it
                // from the journal again (now, or once the request in flight is answered).
                rebuildWork = true
                if !sending { rebuildFromJournal() }
            }
            // A new token, or new credentials (a rotation, a new boarding file), may be accepted
            // where the refused one was not (docs/relay.md §4).
            if policy.pause == .unauthorized, let context, context.tokenExpiresAt != nil,
                previous?.tokenExpiresAt != context.tokenExpiresAt || previous?.generation != context.generation
                    || previous?.agentID != context.agentID
            {
                apply(policy.tokenRenewed(now: now()))
            }
            refreshStatus()
            decide()
        }
    }

    // MARK: Ingest

    /// The answer to one ingest request, ready to be written.
    public struct Answer: Error, Sendable {
        public var status: Int
        public var json: JSONValue
        public var retryAfter: Int?
    }

    /// `POST /v1/timeseries`: all or nothing; `respond` once the records are durable.
    public func ingestTimeseries(
        body: [UInt8], ndjson: Bool, respond: @escaping @Sendable (Answer) -> Void
    ) {
        let snapshot = snapshot.withLock { $0 }
        guard snapshot.accepting, let catalog = snapshot.catalog else {
            return respond(Self.unavailable(snapshot))
        }
        parseQueue.async { [self] in
            let now = configuration.clock.now()
            let parsed = TimeseriesIngest.parse(
                body: body, format: ndjson ? .ndjson : .json, catalog: catalog, now: Int64(now * 1000),
                serverClockOffset: snapshot.serverClockOffset.map { Int64($0 * 1000) },
                maxFuture: Int64(configuration.settings.maxFuture * 1000))
            switch parsed {
            case .failure(let rejection):
                respond(Answer(status: 400, json: rejection.responseJSON))
            case .success(let entries):
                let content = JournalContent.timeseries(entries)
                store(content, at: now, respond: respond) { range in
                    .object([
                        ("accepted", .number(Double(content.recordCount))),
                        ("first", .number(Double(range.lowerBound))), ("last", .number(Double(range.upperBound))),
                    ])
                }
            }
        }
    }

    /// `POST /v1/events`: one event; its id is assigned here and stored, so a resend repeats it.
    public func ingestEvent(body: [UInt8], respond: @escaping @Sendable (Answer) -> Void) {
        let snapshot = snapshot.withLock { $0 }
        guard snapshot.accepting, snapshot.catalog != nil else { return respond(Self.unavailable(snapshot)) }
        parseQueue.async { [self] in
            let now = configuration.clock.now()
            let parsed = EventIngest.parse(
                body: body, now: Int64(now * 1000),
                serverClockOffset: snapshot.serverClockOffset.map { Int64($0 * 1000) },
                maxFuture: Int64(configuration.settings.maxFuture * 1000), makeID: Self.eventID)
            switch parsed {
            case .failure(let rejection):
                respond(Answer(status: 400, json: rejection.responseJSON))
            case .success(let event):
                store(.event(event), at: now, respond: respond) { range in
                    .object([("id", .string(event.id)), ("seq", .number(Double(range.lowerBound)))])
                }
            }
        }
    }

    private static func unavailable(_ snapshot: Snapshot) -> Answer {
        let reason = snapshot.accepting ? snapshot.reason : "hubagent is stopping"
        return Answer(status: 503, json: .object([("error", .string(reason + "; retry later"))]), retryAfter: 5)
    }

    /// Encodes `content` here, on the parsing thread, and appends it; the 202 carries `accepted`'s
    /// body for the sequence numbers it got.
    private func store(
        _ content: JournalContent, at now: Double, respond: @escaping @Sendable (Answer) -> Void,
        accepted: @escaping @Sendable (ClosedRange<UInt64>) -> JSONValue
    ) {
        append(content, payload: RecordCodec.encode(content), estimate: Batcher.estimatedBytes(of: content), at: now) {
            result in
            switch result {
            case .success(let range): respond(Answer(status: 202, json: accepted(range)))
            case .failure(let refusal): respond(refusal)
            }
        }
    }

    /// A version-4 UUID from OpenSSL's generator (docs/relay.md §1: the id is assigned at ingest).
    static func eventID() -> String {
        var bytes = (try? SecureRandom.bytes(16)) ?? (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.encode(bytes)
        let characters = Array(hex)
        func part(_ range: Range<Int>) -> String { String(characters[range]) }
        return [part(0..<8), part(8..<12), part(12..<16), part(16..<20), part(20..<32)].joined(separator: "-")
    }

    /// Appends on `queue`; `done` gets the sequence range once durable (per relay_durability), or
    /// the answer for a request that was not stored.
    /// `payload` and `estimate` (its exchange bytes, for the flush rule) are made on the parsing
    /// thread: the serial queue only writes.
    private func append(
        _ content: JournalContent, payload: [UInt8], estimate: Int, at now: Double,
        done: @escaping @Sendable (Result<ClosedRange<UInt64>, Answer>) -> Void
    ) {
        queue.async { [self] in
            guard stopping == nil else {
                return done(.failure(Self.unavailable(Snapshot(accepting: false))))
            }
            let range: ClosedRange<UInt64>
            do throws(JournalError) {
                range = try journal.append(
                    payload: payload, recordCount: content.recordCount, ingestTime: Int64(now * 1000))
            } catch {
                return done(.failure(appendFailed(error)))
            }
            journalDropped()
            status.ingestedRecords += content.recordCount
            unbatchedBytes += estimate
            if oldestUnbatched == nil { oldestUnbatched = now }
            switch configuration.settings.durability {
            case .sync:
                awaitingSync.append { refusal in done(refusal.map { .failure($0) } ?? .success(range)) }
                if !syncScheduled {
                    // Group commit: every append queued behind this one shares its fdatasync.
                    syncScheduled = true
                    queue.async { [self] in syncNow() }
                }
            case .interval(let interval):
                done(.success(range))
                if !syncScheduled {
                    syncScheduled = true
                    queue.asyncAfter(deadline: .now() + interval) { [self] in syncNow() }
                }
            }
            markStatusChanged()
            decide()
        }
    }

    /// drop_oldest deleted segments: their records leave the batch in hand too, so that nothing
    /// counted as dropped is also sent (docs/relay.md §3: exact counts). A request already in
    /// flight cannot be recalled; what it carries is counted dropped and may still arrive.
    private func journalDropped() {
        for report in journal.takeDropReports() {
            logger.warning("relay: \(report)")
            guard let dropped = report.sequences else { continue }
            policy.discard(through: dropped.upperBound)
            if let next = prefetched {
                let units = next.units.compactMap { $0.trimmed(after: dropped.upperBound) }
                prefetched = units.isEmpty ? nil : Batch(units: units)
            }
            batchedThrough = max(batchedThrough, dropped.upperBound)
            if let flying = inFlight, flying.lowerBound <= dropped.upperBound {
                logger.warning("relay: the request in flight carries records that were just dropped")
            }
        }
    }

    private var lastAppendProblem: String?

    /// Logged once per kind of problem, not per request.
    private func appendFailed(_ error: JournalError) -> Answer {
        let text = error.description
        if text != lastAppendProblem {
            lastAppendProblem = text
            logger.error("relay: a request was refused, nothing of it stored: \(text)")
        }
        return Self.answer(for: error)
    }

    /// 507 when there is no room (reject_new, or the disk itself full), 500 for other failures.
    private static func answer(for error: JournalError) -> Answer {
        let text = error.description
        switch error {
        case .full:
            return Answer(
                status: 507,
                json: .object([("error", .string("the relay's queue is full (relay_max_disk); retry later"))]),
                retryAfter: 10)
        case .storage(let failure) where failure.isOutOfSpace:
            return Answer(
                status: 507, json: .object([("error", .string("no space left on the gateway's disk; retry later"))]),
                retryAfter: 30)
        case .tooLarge:
            return Answer(status: 413, json: .object([("error", .string(text))]))
        default:
            return Answer(status: 500, json: .object([("error", .string("not stored: \(text)"))]), retryAfter: 5)
        }
    }

    private func syncNow() {
        syncScheduled = false
        let waiting = awaitingSync
        awaitingSync = []
        do {
            try journal.sync()
            for respond in waiting { respond(nil) }
        } catch {
            // The same answer as a failed write (a full disk shows here with delayed allocation:
            // 507 with Retry-After); the values may still be sent, so a resend may duplicate them.
            let answer = Self.answer(for: error)
            logger.error("relay: \(error); the requests it covered were answered \(answer.status)")
            for respond in waiting { respond(answer) }
        }
    }

    // MARK: Upload

    private func now() -> Double { configuration.clock.now() }

    /// What to do next on the upload side: send the batch the policy holds, build the next one
    /// when the flush rule says so, or set the one timer for the earliest of those.
    private func decide() {
        guard stopping == nil, !sending, timerAt == nil || timerAt! > now() else { return }
        if !policy.isIdle {
            // The policy scheduled its next send through `apply`; nothing to add.
            return
        }
        guard context?.dataSources != nil, policy.pause == nil else { return setTimer(nil) }
        let now = now()
        if let next = prefetched {
            prefetched = nil
            return apply(policy.batchReady(next, now: now))
        }
        guard
            let at = flush.flushTime(
                pendingBytes: unbatchedBytes, oldestIngestTime: oldestUnbatched, batchTarget: policy.batchTarget,
                now: now)
        else { return setTimer(nil) }
        if at > now { return setTimer(at) }
        if let batch = buildBatch(now: now) { apply(policy.batchReady(batch, now: now)) }
    }

    /// The next batch, built while the current one is in flight so that it goes as soon as the
    /// answer is in (the turnaround is the gap in a drain: docs/relay.md §4, bench/RESULTS.md).
    private var prefetched: Batch?

    private func prefetch() {
        guard sending, prefetched == nil, policy.work.count == 1, stopping == nil, context?.dataSources != nil
        else { return }
        let now = now()
        guard
            let at = flush.flushTime(
                pendingBytes: unbatchedBytes, oldestIngestTime: oldestUnbatched, batchTarget: policy.batchTarget,
                now: now), at <= now
        else { return }
        prefetched = buildBatch(now: now, ahead: true)
    }

    /// Reads the journal after `batchedThrough` into the next batch: records older than
    /// relay_max_age at the head are dropped (counted), records that no longer fit the
    /// configuration in force become dead letters, with their own sequence numbers so that the
    /// cursor counts exactly what was sent (docs/relay.md §2, §3, §4).
    /// `ahead`: while a batch is in flight; then records that are expired or no longer fit are
    /// left for the build after its answer (the cursor must not pass the batch in flight).
    private func buildBatch(now: Double, ahead: Bool = false) -> Batch? {
        let start = max(batchedThrough, journal.acknowledged)
        var batcher = Batcher(after: start, target: policy.batchTarget)
        let reader = journal.reader(after: start)
        var dead: [(sequence: UInt64, value: DeadValue)] = []
        var expiredThrough: UInt64?
        var lastRead = start
        var reachedEnd = true
        guard let catalog = snapshot.withLock({ $0.catalog }) else { return nil }
        do {
            reading: while let frame = try reader.next() {
                if let maxAge = configuration.settings.maxAge, Double(frame.ingestTime) / 1000 < now - maxAge,
                    batcher.batch() == nil, dead.isEmpty
                {
                    expiredThrough = frame.lastSequence
                    lastRead = frame.lastSequence
                    continue
                }
                let checked = Revalidation.pieces(
                    try RecordCodec.decode(frame.payload), firstSequence: frame.firstSequence, against: catalog)
                dead += checked.dead.filter { $0.sequence > start }
                for piece in checked.fit where !batcher.add(firstSequence: piece.firstSequence, content: piece.content)
                {
                    reachedEnd = false
                    oldestUnbatched = Double(frame.ingestTime) / 1000
                    break reading
                }
                lastRead = frame.lastSequence
            }
        } catch {
            logger.error("relay: reading the journal: \(error)")
            if !ahead { setTimer(now + 5) }
            return nil
        }
        if ahead && (expiredThrough != nil || !dead.isEmpty) { return nil }
        if let expired = expiredThrough {
            do {
                try journal.dropRecords(through: expired, reason: .age)
                batchedThrough = max(batchedThrough, expired)
                logger.warning("relay: dropped records older than relay_max_age through sequence \(expired)")
            } catch {
                logger.error("relay: \(error)")
            }
        }
        let batch = batcher.batch()
        // Dead records are written once their place in the order is settled: up to the end of the
        // batch (the cursor passes them with it), or all that was read when nothing is sent.
        let settledThrough = batch?.lastSequence ?? lastRead
        let settled = dead.filter { $0.sequence <= settledThrough }
        if !settled.isEmpty {
            writeDeadLetters(values: settled, reason: "no longer fits the data source configuration")
        }
        guard let batch else {
            if ahead { return nil }
            // Everything read was expired or no longer fits: the cursor moves past it.
            unbatchedBytes = 0
            oldestUnbatched = nil
            acknowledgeAllBatched(through: lastRead)
            return nil
        }
        batchedThrough = batch.lastSequence
        if reachedEnd && settled.count == dead.count && batch.lastSequence >= lastRead {
            unbatchedBytes = 0
            oldestUnbatched = nil
        } else {
            // More is queued than this batch took: a backlog, sent as soon as the batch is done
            // (the running sum is an estimate; it must not run dry while records remain).
            unbatchedBytes = max(unbatchedBytes - batch.estimatedBytes, policy.batchTarget)
            if oldestUnbatched == nil { oldestUnbatched = now }
        }
        return batch
    }

    /// Nothing read is to be sent: the cursor passes it, as after an accepted batch.
    private func acknowledgeAllBatched(through sequence: UInt64) {
        guard sequence > journal.acknowledged else { return }
        batchedThrough = max(batchedThrough, sequence)
        cursorThrough = max(cursorThrough ?? 0, sequence)
        writeCursor()
        refreshStatus()
    }

    /// Performs the policy's decisions in order. `deferCursor`: the cursor is written by the caller
    /// (`writeCursor`) once the next request is on its way, so that its fsyncs are not in the gap
    /// between two requests; dead letters are written at once, before the cursor passes them.
    private func apply(_ decisions: [UploadDecision], deferCursor: Bool = false) {
        defer { if !deferCursor { writeCursor() } }
        for decision in decisions {
            switch decision {
            case .send(let batch, let at):
                var at = at
                if let limiter = rateLimiter {
                    at = max(at, now() + limiter.delay(forSending: batch.estimatedBytes, now: now()))
                }
                if at > now() {
                    status.nextAttemptAt = at
                    setTimer(at)
                } else {
                    send(batch)
                }
            case .advanceCursor(let sequence):
                cursorThrough = max(cursorThrough ?? 0, sequence)
            case .deadLetter(let units, let reason):
                writeDeadLetters(units: units, reason: reason)
            case .requestTokenRefresh:
                if let token = sentToken { tokens.refuseAccessToken(token) }
                // The next send asks for a token and gets the new one.
                apply(policy.tokenRenewed(now: now()))
            case .paused(let reason):
                status.state = .paused
                status.reason = Self.describe(reason)
                logger.warning("relay paused: \(Self.describe(reason)); values are still accepted and kept")
            }
        }
        markStatusChanged()
    }

    /// Acknowledged by the exchange, not yet written to the cursor file.
    private var cursorThrough: UInt64?

    private func writeCursor() {
        guard let sequence = cursorThrough else { return }
        do {
            try journal.acknowledge(through: sequence)
            cursorThrough = nil
            cursorRetry = nil
        } catch {
            // Kept and tried again with back-off: until it is written the records count as queued
            // and a restart would send them again (at-least-once, docs/relay.md §4).
            let delay = min(300, (cursorRetry ?? 0.5) * 2)
            cursorRetry = delay
            logger.error("relay: storing the upload cursor: \(error); trying again in \(Format.duration(delay))")
            queue.asyncAfter(deadline: .now() + delay) { [self] in
                if cursorRetry == delay { writeCursor() }
            }
        }
    }

    /// The back-off of a cursor write that failed, while it is being retried.
    private var cursorRetry: Double?

    private static func describe(_ reason: UploadPauseReason) -> String {
        switch reason {
        case .unauthorized: "the exchange endpoint refused a fresh access token (401); waiting for new credentials"
        case .forbidden: "the exchange endpoint answered 403 (forbidden); retrying every 5 minutes"
        case .unexpectedStatus(let code): "the exchange endpoint answered \(code); retrying every 5 minutes"
        }
    }

    private func timerFired() {
        timerAt = nil
        status.nextAttemptAt = nil
        if let batch = policy.work.first, !sending {
            send(batch)
        } else {
            decide()
        }
    }

    private func setTimer(_ at: Double?) {
        guard let timer else { return }
        timerAt = at
        guard let at else {
            timer.schedule(wallDeadline: .distantFuture)
            return
        }
        let delay = max(0, at - now())
        timer.schedule(wallDeadline: .now() + delay, leeway: .milliseconds(delay > 10 ? 500 : 5))
    }

    /// One exchange request: a token from the agent, the body, and the answer back on `queue`.
    private func send(_ batch: Batch) {
        guard let context, !sending else { return }
        sending = true
        inFlight = batch.firstSequence...batch.lastSequence
        queue.async { [self] in prefetch() }
        let correlationID = (try? ExchangeEncoder.secureCorrelationID()) ?? Self.eventID().replacing("-", with: "")
        tokens.withAccessToken { [self] result in
            switch result {
            case .failure(let unavailable):
                queue.async { [self] in
                    sending = false
                    inFlight = nil
                    status.state = .waiting
                    status.reason = "no access token: \(unavailable.reason)"
                    markStatusChanged()
                    // The agent publishes a new context when its state changes; until then, a
                    // slow retry in case only the token fetch failed.
                    setTimer(now() + 30)
                }
            case .success(let token):
                sendQueue.async { [self] in
                    let request = ExchangeRequest.make(
                        batch, baseURL: context.baseURL, accessToken: token.token.exposed, correlationID: correlationID,
                        boundary: { (try? ExchangeEncoder.secureBoundary()) ?? "hubagent0relay0boundary" })
                    let started = now()
                    let answer: Result<HTTPResponse, TransportError>
                    do throws(TransportError) {
                        answer = .success(try transport.perform(request))
                    } catch {
                        answer = .failure(error)
                    }
                    let elapsed = now() - started
                    queue.async { [self] in
                        sending = false
                        inFlight = nil
                        sentToken = token.token
                        finished(
                            batch, bodyBytes: request.body.count, correlationID: correlationID, answer, elapsed: elapsed
                        )
                    }
                }
            }
        }
    }

    private func finished(
        _ batch: Batch, bodyBytes: Int, correlationID: String, _ answer: Result<HTTPResponse, TransportError>,
        elapsed: Double
    ) {
        let now = now()
        rateLimiter?.spend(bodyBytes, now: now)
        let outcome: UploadOutcome
        switch answer {
        case .success(let response) where response.status == 200:
            outcome = .accepted
            status.uploadedRecords += batch.recordCount
            status.uploadRequests += 1
            status.lastSuccessAt = now
            status.uploadRate = elapsed > 0 ? Double(bodyBytes) / elapsed : nil
            if status.state != .running {
                status.state = .running
                status.reason = nil
            }
            logger.debug(
                "relay: sequences \(batch.firstSequence)...\(batch.lastSequence) (\(batch.recordCount) records, "
                    + "\(bodyBytes) bytes) accepted, Correlation-ID \(correlationID)")
        case .success(let response):
            outcome = UploadOutcome(response, retryAfter: response.headers["retry-after"].flatMap(HTTPDate.retryAfter))
            lastRefusal = DisplayText.sanitized(String(decoding: response.body.prefix(300), as: UTF8.self))
            status.lastError = .init(
                status: response.status, message: Self.explain(response.status), correlationID: correlationID, at: now)
            logger.warning(
                "relay: the exchange endpoint answered \(response.status) for sequences \(batch.firstSequence)..."
                    + "\(batch.lastSequence), Correlation-ID \(correlationID)")
        case .failure(let error):
            outcome = .transportFailure
            lastRefusal = nil
            status.lastError = .init(status: nil, message: error.description, correlationID: correlationID, at: now)
            logger.warning("relay: upload failed (\(error)); the batch is kept and sent again")
        }
        lastCorrelationID = correlationID
        apply(policy.outcome(outcome, now: now, jitter: Double.random(in: 0..<1)), deferCursor: true)
        if stopping != nil {
            writeCursor()
            refreshStatus()
            return finishStop()
        }
        if rebuildWork { rebuildFromJournal() }
        decide()
        writeCursor()
        refreshStatus()
    }

    /// The configuration changed while a batch was in hand.
    private var rebuildWork = false

    private func rebuildFromJournal() {
        rebuildWork = false
        guard !policy.isIdle else { return }
        policy.abandonWork()
        prefetched = nil
        batchedThrough = journal.acknowledged
        unbatchedBytes = max(unbatchedBytes, policy.batchTarget)
        if oldestUnbatched == nil { oldestUnbatched = now() }
        setTimer(nil)
    }

    /// The last refusal's body and its Correlation-ID: what a dead letter records.
    private var lastRefusal: String?
    private var lastCorrelationID: String?

    private static func explain(_ status: Int) -> String {
        switch status {
        case 400: "the exchange endpoint refused the batch as malformed; isolating the bad records"
        case 401: "the access token was refused"
        case 403: "forbidden"
        case 413: "the batch is too large for the endpoint (or a proxy); splitting it"
        case 429: "too many requests; waiting as told"
        case 500...599: "server error; retrying with back-off"
        default: "unexpected answer"
        }
    }

    // MARK: Dead letters

    private func writeDeadLetters(units: [BatchUnit], reason: DeadLetterReason) {
        let time = Int64(now() * 1000)
        var letters: [DeadLetter] = []
        let why: String
        switch reason {
        case .overCeiling(let bytes): why = "larger than one exchange request allows (\(bytes) bytes estimated)"
        case .rejected(let code):
            why = "refused by the exchange endpoint (\(code))" + (lastRefusal.map { ": " + $0 } ?? "")
        }
        for unit in units {
            switch unit.content {
            case .event(let event):
                letters.append(
                    DeadLetter(
                        sequence: unit.firstSequence, time: time, reason: why, correlationID: lastCorrelationID,
                        record: DeadLetterForm.json(event)))
            case .timeseries(let entry):
                for (offset, value) in entry.values.enumerated() {
                    letters.append(
                        DeadLetter(
                            sequence: unit.firstSequence + UInt64(offset), time: time, reason: why,
                            correlationID: lastCorrelationID,
                            record: DeadLetterForm.json(
                                value, configurationID: entry.configurationID, at: entry.timestamp)))
                }
            }
        }
        store(letters)
    }

    private func writeDeadLetters(values: [(sequence: UInt64, value: DeadValue)], reason: String) {
        let time = Int64(now() * 1000)
        store(
            values.map {
                DeadLetter(
                    sequence: $0.sequence, time: time, reason: reason + ": " + $0.value.reason, correlationID: nil,
                    record: DeadLetterForm.json(
                        $0.value.value, configurationID: $0.value.configurationID, at: $0.value.timestamp))
            })
    }

    private func store(_ letters: [DeadLetter]) {
        guard !letters.isEmpty else { return }
        do {
            try journal.deadLetters.append(letters)
            logger.warning(
                "relay: \(letters.count) record\(letters.count == 1 ? "" : "s") moved to dead letters: "
                    + "\(letters[0].reason) (hubagent relay dead-letters)")
        } catch {
            logger.error("relay: writing \(letters.count) dead letters: \(error); they are lost")
        }
        markStatusChanged()
    }

    // MARK: Status

    /// The queue's numbers, from the journal.
    private func refreshQueue() {
        let usage = journal.usage
        status.queuedRecords = Int(usage.unacknowledgedRecords)
        status.diskBytes = usage.diskBytes
        status.oldestQueuedAt = usage.oldestUnacknowledgedIngestTime.map { Double($0) / 1000 }
    }

    private func refreshStatus() {
        refreshQueue()
        let drops = journal.drops
        status.dropped = [:]
        for reason in DropReason.allCases where drops[reason] > 0 {
            status.dropped[reason.rawValue] = Int(drops[reason])
        }
        status.deadLetters = journal.deadLetters.count
        if stopping != nil {
            status.state = .stopping
            status.reason = nil
        } else if policy.pause == nil {
            if context == nil {
                status.state = .waiting
                status.reason = "no usable identity"
            } else if context?.dataSources == nil {
                status.state = .waiting
                status.reason = "no data source configuration in force yet"
            } else if status.state == .waiting || status.state == .paused {
                status.state = .running
                status.reason = nil
            }
        }
        markStatusChanged()
    }

    private func markStatusChanged() {
        statusDirty = true
        guard statusTimer == nil else { return }
        // At most once a second while values flow; no timer at all when nothing changes.
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            statusTimer?.cancel()
            statusTimer = nil
            if statusDirty { publishStatus() }
        }
        timer.schedule(deadline: .now() + 1)
        timer.resume()
        statusTimer = timer
    }

    private func publishStatus() {
        statusDirty = false
        refreshQueue()
        onStatusChange?(status)
    }

    /// The status now (on any queue).
    public func currentStatus(_ completion: @escaping @Sendable (RelayStatus) -> Void) {
        queue.async { [self] in
            refreshStatus()
            completion(status)
        }
    }

    // MARK: Stop

    /// Stops taking values, syncs what was taken, and waits for the request in flight up to
    /// `timeout` seconds (docs/relay.md §4: the journal keeps the rest). `finish` runs on `queue`.
    public func stop(within timeout: Double, then finish: @escaping @Sendable () -> Void) {
        snapshot.withLock { $0.accepting = false }
        queue.async { [self] in
            guard stopping == nil else { return }
            stopping = finish
            if syncScheduled { syncNow() }
            setTimer(nil)
            refreshStatus()
            publishStatus()
            guard sending else { return finishStop() }
            queue.asyncAfter(deadline: .now() + timeout) { [self] in finishStop() }
        }
    }

    private var stopped = false

    /// Once: the request in flight answered, or the stop timeout passed.
    private func finishStop() {
        guard let finish = stopping, !stopped else { return }
        stopped = true
        finish()
    }
}
