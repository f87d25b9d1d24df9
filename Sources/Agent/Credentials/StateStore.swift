import JSON
public import Platform
import Synchronization

/// Reads and writes `StoredState` in the state directory as `state.<generation>.json`.
///
/// Every save writes a new generation with the durable-replace recipe and then removes the ones
/// older than its predecessor; two generations are always on disk, so a corrupt newest file
/// (bad media, a bug) falls back to the one before it instead of losing the identity (docs/design.md §9).
public final class StateStore: Sendable {
    public let directory: StateDirectory
    /// One save at a time: the stop path saves from the work queue while the effects queue may
    /// be saving, and two saves must not pick the same generation (the second would fail on
    /// the first one's temp file).
    private let saving = Mutex(())

    public init(directory: StateDirectory) {
        self.directory = directory
    }

    public struct Loaded: Sendable {
        public var state: StoredState
        /// Newer generations that could not be read, with the reason: reported, not fatal.
        public var skipped: [String]
    }

    static func generation(of name: String) -> Int? { Layout.FileName.generation(ofState: name) }

    /// The newest readable generation, or an empty state. Throws only for insecure files or
    /// directory errors: those need the operator.
    public func load() throws(StorageError) -> Loaded {
        let generations = directory.names().compactMap { name in Self.generation(of: name).map { ($0, name) } }.sorted {
            $0.0 > $1.0
        }
        var skipped = [String]()
        for (_, name) in generations {
            // A FIFO, directory or symbolic link under a state file's name is not state (a FIFO
            // would block the read): skipped and reported, never the end of the start.
            let read: [UInt8]?
            do {
                read = try directory.read(name, limit: Layout.Limit.state)
            } catch {
                switch error {
                case .notRegularFile:
                    skipped.append(error.description)
                    continue
                case .system(let failure) where failure.isSymbolicLinkRefused:
                    skipped.append(
                        "\(directory.pathOf(name)) is a symbolic link, not a regular file; fix: remove it "
                            + "(rm \(directory.pathOf(name)))")
                    continue
                default:
                    throw error
                }
            }
            guard let bytes = read else { continue }
            do {
                let json = try JSONValue.parse(bytes)
                do {
                    return Loaded(state: try StoredState(json: json), skipped: skipped)
                } catch {
                    skipped.append("\(directory.pathOf(name)): \(error.description)")
                }
            } catch {
                skipped.append("\(directory.pathOf(name)): not valid JSON (\(error.description))")
            }
        }
        return Loaded(state: StoredState(), skipped: skipped)
    }

    /// Writes `state` as the next generation; returns it with its generation number set. Only
    /// when this returns has the state become durable.
    @discardableResult
    public func save(_ state: StoredState) throws(SystemError) -> StoredState {
        try saving.withLock { _ throws(SystemError) in
            var next = state
            let existing = directory.names().compactMap(Self.generation(of:))
            next.generation = max(state.generation, existing.max() ?? 0) + 1
            let name = Layout.FileName.state(generation: next.generation)
            // Never write what `load` would refuse to read back: a start would then lose the identity.
            try directory.replace(name, with: Array(next.json.serialized.utf8), limit: Layout.Limit.state)
            // The generation `state` was read or saved as is kept too: when a newer entry was
            // skipped at load (a FIFO, a corrupt file), it is not the last good one that goes.
            for old in existing where old < next.generation - 1 && old != state.generation {
                try? directory.remove(Layout.FileName.state(generation: old))
            }
            return next
        }
    }
}
