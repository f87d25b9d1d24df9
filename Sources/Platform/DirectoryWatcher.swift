public import Dispatch
import Glibc

/// Calls `onChange` with the names of entries in one directory that were written, created,
/// renamed into it or removed. inotify driven: nothing runs while nothing changes (docs/design.md §4
/// rule 9).
// Unchecked: both stored properties are immutable; the source is a Dispatch object, safe to use from any thread.
public final class DirectoryWatcher: @unchecked Sendable {
    private let fd: Int32
    private let source: any DispatchSourceRead

    /// IN_CLOSE_WRITE covers in-place edits once the writer closes the file; IN_MOVED_TO covers
    /// the editor's and the operator's atomic rename.
    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

    public init(path: String, queue: DispatchQueue, onChange: @escaping @Sendable (Set<String>) -> Void)
        throws(SystemError)
    {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw SystemError("inotify_init1", path) }
        guard inotify_add_watch(fd, path, Self.mask) >= 0 else {
            let error = SystemError("inotify_add_watch", path)
            close(fd)
            throw error
        }
        self.fd = fd
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [fd] in
            let names = Self.drain(fd)
            if !names.isEmpty { onChange(names) }
        }
        source.setCancelHandler { [fd] in close(fd) }
        source.resume()
    }

    deinit { source.cancel() }

    /// Reads every queued event; returns the entry names they concern.
    private static func drain(_ fd: Int32) -> Set<String> {
        var names = Set<String>()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return names }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let (length, name) = buffer.withUnsafeBytes { raw -> (Int, String) in
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    let start = offset + MemoryLayout<inotify_event>.size
                    let end = min(start + Int(event.len), count)
                    let bytes = raw[start..<end].prefix(while: { $0 != 0 })
                    return (Int(event.len), String(decoding: bytes, as: UTF8.self))
                }
                if !name.isEmpty { names.insert(name) }
                offset += MemoryLayout<inotify_event>.size + length
            }
        }
    }
}
