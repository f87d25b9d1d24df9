import Agent
import Platform

/// Reads the stored state for the checks, with the daemon's own rules (`StateStore`,
/// `StateDirectory`), as the user the daemon runs as.
enum StoredStateReader {
    enum Outcome {
        case missing
        case unreadable(String)
        case loaded(StateStore.Loaded)
    }

    static func read(_ path: String) -> Outcome {
        let entry: DirectoryEntry
        do {
            guard let found = try DirectoryEntry.of(path) else { return .missing }
            entry = found
        } catch {
            return .unreadable("\(path): \(SystemError.message(for: error.errno))")
        }
        guard Users.effectiveUID == 0, entry.uid != 0 else { return load(path) }
        // Root, on the service user's directory (systemd's DynamicUser): read it with that user's
        // effective ids, so the daemon's checks hold it to the service user's standard, not
        // root's. The directory is opened as root first and reached through /proc/self/fd,
        // because its parent (/var/lib/private, 0700 root) is closed to that user.
        let handle: DirectoryHandle
        do {
            handle = try DirectoryHandle(path: path)
        } catch {
            return .unreadable("\(path): \(SystemError.message(for: error.errno))")
        }
        let procPath = handle.procPath
        let outcome = withExtendedLifetime(handle) { Users.asUser(uid: entry.uid, gid: entry.gid) { load(procPath) } }
        switch outcome {
        case .missing: return .missing
        case .unreadable(let reason): return .unreadable(reason.replacing(procPath, with: path))
        case .loaded(var loaded):
            loaded.skipped = loaded.skipped.map { $0.replacing(procPath, with: path) }
            return .loaded(loaded)
        }
    }

    private static func load(_ location: String) -> Outcome {
        do throws(StorageError) {
            let directory = try StateDirectory(path: location, create: false)
            return .loaded(try StateStore(directory: directory).load())
        } catch {
            return .unreadable(error.description)
        }
    }
}
