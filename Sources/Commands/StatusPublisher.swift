import Agent
import Platform
import Relay
import Synchronization

/// Writes `status.json` and the systemd STATUS line from the agent's report and the relay's
/// block (docs/status.md): whenever either changes, from whichever queue told it.
final class StatusPublisher: Sendable {
    private struct Latest {
        var report: StatusReport?
        var relay: RelayStatus?
        var line = ""
    }

    private let latest = Mutex(Latest())
    private let runtime: StateDirectory?
    private let serviceManager: ServiceManager
    private let logger: Logger
    private let clock: any WallClock

    init(runtime: StateDirectory?, serviceManager: ServiceManager, logger: Logger, clock: any WallClock) {
        self.runtime = runtime
        self.serviceManager = serviceManager
        self.logger = logger
        self.clock = clock
    }

    func agentChanged(_ report: StatusReport) {
        publish { $0.report = report }
    }

    func relayChanged(_ relay: RelayStatus) {
        publish { $0.relay = relay }
    }

    /// The status line: the agent's, plus the relay's when it has something to say (a backlog,
    /// drops, a pause).
    func line(agent summary: String, relay: RelayStatus?) -> String {
        guard let relayLine = relay?.summary(now: clock.now()) else { return summary }
        return summary + "; " + relayLine
    }

    private func publish(_ change: (inout Latest) -> Void) {
        // One writer at a time: the file and the line always show the latest of both.
        latest.withLock { latest in
            change(&latest)
            guard var report = latest.report else { return }
            report.relay = latest.relay?.json
            let line = line(agent: report.summary, relay: latest.relay)
            if line != latest.line {
                latest.line = line
                serviceManager.status(line)
                logger.debug("status: \(line)")
            }
            do {
                try runtime?.replace(Layout.FileName.status, with: Array(report.json.serialized.utf8), mode: 0o644)
            } catch {
                logger.warning("writing \(Layout.FileName.status): \(error)")
            }
        }
    }
}
