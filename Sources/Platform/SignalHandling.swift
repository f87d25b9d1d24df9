public import Dispatch
import Glibc
import Synchronization

/// Dispatch signal sources that are really installed before `install` returns.
///
/// libdispatch registers a signal source asynchronously after `resume()`; a signal that arrives
/// in between takes its default action (docs/platform-notes.md swift §5, measured 35 of 40 TERMs lost).
/// So the default disposition is ignored first, and `install` waits until libdispatch's own
/// handler has replaced it. The sources are kept for the life of the process.
public final class SignalHandling: Sendable {
    private let sources = Mutex<[any DispatchSourceSignal]>([])

    public init() {}

    /// The signals hubagent handles.
    public enum Signal: Sendable {
        case terminate, hangUp, user1

        public var number: Int32 {
            switch self {
            case .terminate: SIGTERM
            case .hangUp: SIGHUP
            case .user1: SIGUSR1
            }
        }
    }

    public func install(_ signal: Signal, queue: DispatchQueue, handler: @escaping @Sendable () -> Void) {
        let signalNumber = signal.number
        Glibc.signal(signalNumber, SIG_IGN)
        sources.withLock { sources in
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
        Self.waitUntilHandled(signalNumber)
    }

    /// Polls the disposition (bounded, at start only) until it is neither SIG_DFL nor SIG_IGN.
    private static func waitUntilHandled(_ signalNumber: Int32) {
        for _ in 0..<2000 {
            var current = sigaction()
            sigaction(signalNumber, nil, &current)
            let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
            if handler != 0 && handler != 1 { return }
            usleep(1000)
        }
    }
}
