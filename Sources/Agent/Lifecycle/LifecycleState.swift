public import Crypto
public import Platform
public import Southgate

// The lifecycle's state, grouped by what it is about. Each group is a plain value owned by
// `Lifecycle`; the rules in the `Lifecycle+*` files change them.

/// The boarding file as last read.
public struct BoardingFileState: Equatable, Sendable {
    /// The file's configuration when it parsed.
    public internal(set) var configuration: BoardingConfiguration?
    /// Why the boarding file cannot be used, for status and `check`.
    public internal(set) var problem: String?
}

/// What the agent holds from southgate right now.
public struct SessionState: Equatable, Sendable {
    public internal(set) var token: Lifecycle.AccessToken?
    public internal(set) var clock = ServerClock()
    /// Where the agent is on the way back from a refused assertion (docs/design.md §4 rule 1).
    public internal(set) var recovery = Recovery.none

    public enum Recovery: Sendable, Equatable {
        case none, clockResynced, rotateWithCurrent, rotateWithPrevious, rotated
    }
}

/// Retrying after failed operations, with backoff.
public struct RetryState: Equatable, Sendable {
    /// Consecutive failures; > 0 means retrying with backoff.
    public internal(set) var failures = 0
    /// Gateway time of the next attempt.
    public internal(set) var retryAt: Double?
    /// The last failure was a transport error: southgate cannot be reached.
    public internal(set) var offline = false

    mutating func succeeded() {
        failures = 0
        retryAt = nil
        offline = false
    }
}

/// What the operator is told about: the last error, and why only a new boarding file helps.
public struct HealthState: Equatable, Sendable {
    /// Set when only a new boarding file can help; says why.
    public internal(set) var reboardingReason: String?
    public internal(set) var lastError: String?
    /// Gateway time of `lastError`.
    public internal(set) var lastErrorAt: Double?

    mutating func record(_ error: String, at now: Double) {
        lastError = error
        lastErrorAt = now
    }
}

/// The data source configuration from `datasources.yaml`.
public struct DataSourcesState: Equatable, Sendable {
    /// The file's configuration, when there is a valid one.
    public internal(set) var configuration: DataSourceConfiguration?
    /// Why `datasources.yaml` is not in force (invalid, or refused by the server).
    public internal(set) var problem: String?
    /// The content southgate refused as invalid: not sent again until the file changes.
    var refusedHash: String?
}

/// Credentials the server issued that are in use but not on disk yet (the disk refused them):
/// retried with backoff until stored; any state stored later carries them.
public struct UnstoredCredentials: Equatable, Sendable {
    /// The generation last stored before them.
    public internal(set) var since: Int
    /// Why they are not on disk, for the operator.
    public internal(set) var problem: String
    public internal(set) var failures: Int
    /// Gateway time of the next attempt to store them; nil while that attempt is under way.
    public internal(set) var retryAt: Double?
}

extension Lifecycle {
    /// Why a driver operation did not complete, with its typed cause.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case southgate(SouthgateError)
        /// Storing state failed; nothing that depends on it was used.
        case storage(SystemError)
        /// Key generation, key parsing or signing failed.
        case crypto(CryptoError)
        /// The stored credentials cannot sign an assertion (a part is missing or unreadable).
        case credentials(SignerError)
        /// A rotation was asked for without an identity (a driver bug, never a server answer).
        case noIdentity

        public var description: String {
            switch self {
            case .southgate(let error): error.description
            case .storage(let error): "storing state failed: \(error)"
            case .crypto(let error): "cryptography failed: \(error)"
            case .credentials(let error): error.description
            case .noIdentity: "there is no identity to rotate"
            }
        }

        /// The one classification of failures the rules use.
        /// What southgate refused of what was sent (400 or 401): a verdict on a credential, an
        /// assertion or a document, never an outage. Each rule decides what the verdict means
        /// for its request; every other failure is retried with backoff.
        public var refusal: Refusal? {
            guard case .southgate(let error) = self else { return nil }
            switch error.kind {
            case .badRequest: return .badRequest
            case .unauthorized: return .unauthorized
            default: return nil
            }
        }

        public enum Refusal: Equatable, Sendable { case badRequest, unauthorized }

        /// No HTTP response at all: southgate cannot be reached ("offline").
        public var isOffline: Bool {
            if case .southgate(let error) = self, case .transport = error.kind { return true }
            return false
        }

        /// The server's time from the response that carried the failure, if any.
        public var serverTime: Double? {
            if case .southgate(let error) = self { return error.serverTime }
            return nil
        }

        /// `Retry-After`, seconds.
        public var retryAfter: Double? {
            if case .southgate(let error) = self { return error.retryAfter }
            return nil
        }

        /// The southgate error behind a failure, for messages.
        public var southgateError: SouthgateError? {
            if case .southgate(let error) = self { return error }
            return nil
        }
    }
}
