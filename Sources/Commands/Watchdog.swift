import Dispatch
import Platform
import Synchronization

/// Pings systemd's watchdog from the work queue, so a wedged queue stops the pings and systemd
/// restarts the service (docs/design.md §5).
final class Watchdog: Sendable {
    private let serviceManager: ServiceManager
    private let queue: DispatchQueue
    private let logger: Logger
    /// The timer source, once started; set and cancelled on `queue`, held in a Mutex so that the
    /// type needs no unchecked promise.
    private let timer = Mutex<(any DispatchSourceTimer)?>(nil)

    init(serviceManager: ServiceManager, queue: DispatchQueue, logger: Logger) {
        self.serviceManager = serviceManager
        self.queue = queue
        self.logger = logger
    }

    /// On `queue`.
    func start() {
        guard let interval = serviceManager.watchdogInterval() else { return }
        timer.withLock { [queue, serviceManager] timer in
            let source = DispatchSource.makeTimerSource(queue: queue)
            source.schedule(
                deadline: .now() + interval, repeating: interval,
                leeway: .milliseconds(Int(interval * 100)))
            source.setEventHandler { serviceManager.watchdog() }
            source.resume()
            timer = source
        }
        serviceManager.watchdog()
        logger.debug("watchdog: pinging every \(interval) s")
    }

    #if HUBAGENT_TEST_HOOKS
        /// On `queue`. Test builds only (the SIGUSR1 hook).
        func stop() {
            timer.withLock { $0?.cancel() }
        }
    #endif
}
