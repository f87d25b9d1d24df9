import Agent
import Dispatch
import Platform
import Relay

/// The relay beside the agent in `hubagent run`: opened when `relay = on`, stopped with it.
enum RelayWiring {
    /// The relay with its journal open; nil (logged) when the journal cannot be opened: the
    /// agent's identity and tokens come first and keep running without it (docs/relay.md §3).
    static func open(layout: Layout, settings: Settings, agent: AgentDaemon, logger: Logger) -> RelayDaemon? {
        do {
            return try RelayDaemon(
                configuration: .init(
                    settings: settings.relay, directory: layout.relayDirectory,
                    transportOptions: settings.transportOptions, clock: SystemWallClock()),
                tokens: agent, logger: logger)
        } catch {
            logger.error("relay: \(error); the relay is off until this is fixed and hubagent restarted")
            return nil
        }
    }

    /// Stops both side by side, then `finish` on the agent's queue: the relay gives its upload in
    /// flight up to 5 s, the agent an onboarding or rotation in flight up to 15 s.
    static func stop(_ relay: RelayDaemon?, agent: AgentDaemon, then finish: @escaping @Sendable () -> Void) {
        let group = DispatchGroup()
        if let relay {
            group.enter()
            relay.stop(within: 5) { group.leave() }
        }
        group.enter()
        agent.stop(within: 15) { group.leave() }
        group.notify(queue: agent.work, execute: finish)
    }
}
