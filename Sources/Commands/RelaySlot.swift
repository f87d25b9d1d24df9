import Agent
import Dispatch
import Platform
import Relay
import Synchronization

/// The relay beside the agent in `hubagent run` (`relay = on`): its journal opened, and opened
/// again with back-off when that fails (a full disk, a descriptor shortage at start), while the
/// sockets answer 503 with Retry-After; stopped with the agent. The agent's identity and tokens
/// never wait for it (docs/relay.md §3).
final class RelaySlot: Sendable {
    private struct State {
        var relay: RelayDaemon?
        /// The agent's latest context, handed to the relay once it is open.
        var context: UploadContext??
        var problem: String?
        var stopped = false
    }

    private let state = Mutex(State())
    private let open: @Sendable () throws(JournalError) -> RelayDaemon
    private let onStatusChange: @Sendable (RelayStatus) -> Void
    private let logger: Logger

    /// Tries to open the journal at once; `start` runs the relay.
    init(
        logger: Logger, onStatusChange: @escaping @Sendable (RelayStatus) -> Void,
        open: @escaping @Sendable () throws(JournalError) -> RelayDaemon
    ) {
        self.logger = logger
        self.onStatusChange = onStatusChange
        self.open = open
    }

    /// The relay of `hubagent run`.
    static func forRun(
        layout: Layout, settings: Settings, agent: AgentDaemon, logger: Logger,
        onStatusChange: @escaping @Sendable (RelayStatus) -> Void
    ) -> RelaySlot {
        let open: @Sendable () throws(JournalError) -> RelayDaemon = { () throws(JournalError) in
            try RelayDaemon(
                configuration: .init(
                    settings: settings.relay, directory: layout.relayDirectory,
                    transportOptions: settings.transportOptions, clock: SystemWallClock()),
                tokens: agent, logger: logger)
        }
        return RelaySlot(logger: logger, onStatusChange: onStatusChange, open: open)
    }

    /// The relay, once its journal is open.
    var relay: RelayDaemon? { state.withLock { $0.relay } }

    /// Why the relay is not open yet: what the sockets answer meanwhile.
    var problem: String? { state.withLock { $0.problem } }

    func start() { attempt(delay: 5) }

    private func attempt(delay: Double) {
        do throws(JournalError) {
            let relay = try open()
            relay.onStatusChange = onStatusChange
            let context: UploadContext?? = state.withLock { state in
                state.relay = relay
                state.problem = nil
                return state.context
            }
            relay.start()
            if let context { relay.update(context) }
        } catch {
            let problem = "the relay's journal cannot be opened: \(error)"
            let stopped = state.withLock { state in
                state.problem = problem
                return state.stopped
            }
            guard !stopped else { return }
            logger.error("relay: \(problem); trying again in \(Format.duration(delay))")
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [self] in
                attempt(delay: min(300, delay * 2))
            }
        }
    }

    /// The agent's context changed (from its queue).
    func update(_ context: UploadContext?) {
        let relay = state.withLock { state in
            state.context = .some(context)
            return state.relay
        }
        relay?.update(context)
    }

    /// Stops both side by side, then `finish` on the agent's queue: the relay gives its upload in
    /// flight up to 5 s, the agent an onboarding or rotation in flight up to 15 s.
    static func stop(_ slot: RelaySlot?, agent: AgentDaemon, then finish: @escaping @Sendable () -> Void) {
        let group = DispatchGroup()
        let relay = slot?.state.withLock { state in
            state.stopped = true
            return state.relay
        }
        if let relay {
            group.enter()
            relay.stop(within: 5) { group.leave() }
        }
        group.enter()
        agent.stop(within: 15) { group.leave() }
        group.notify(queue: agent.work, execute: finish)
    }
}
