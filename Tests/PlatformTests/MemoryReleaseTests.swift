import Glibc
import XCTest

@testable import Platform

/// Which mappings an idle release may drop, when it runs, and that dropping never loses a written page.
final class MemoryReleaseTests: XCTestCase {
    private static let smaps = """
        55d0a0000000-55d0a0849000 r-xp 00000000 08:01 1234 /usr/bin/hubagent
        Rss:                6560 kB
        Anonymous:             0 kB
        Swap:                  0 kB
        VmFlags: rd ex mr mw me dw
        55d0a0849000-55d0a0883000 r--p 0084b000 08:01 1234 /usr/bin/hubagent
        Rss:                 232 kB
        Anonymous:           232 kB
        Swap:                  0 kB
        VmFlags: rd mr mw me dw ac
        55d0a0883000-55d0a09bb000 rw-p 00885000 08:01 1234 /usr/bin/hubagent
        Rss:                 728 kB
        Anonymous:           104 kB
        VmFlags: rd wr mr mw me dw ac
        55d0a1000000-55d0a1073000 rw-p 00000000 00:00 0 [heap]
        Rss:                 308 kB
        Anonymous:           308 kB
        7f0000000000-7f0000280000 r--p 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libcrypto.so.3
        Rss:                 788 kB
        Anonymous:             0 kB
        Swap:                  0 kB
        VmFlags: rd mr mw me
        7f0000280000-7f0000290000 r-xp 00010000 08:01 98 /usr/lib/x86_64-linux-gnu/libm.so.6
        Rss:                  64 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me lo
        7f0000290000-7f00002a0000 r--s 00000000 08:01 97 /var/cache/shared.db
        Rss:                  64 kB
        Anonymous:             0 kB
        7f00002a0000-7f00002b0000 r--p 00000000 08:01 96 /usr/lib/x86_64-linux-gnu/libz.so.1
        Rss:                   0 kB
        Anonymous:             0 kB
        7f00002b0000-7f00002c0000 r--p 00000000 08:01 95 /usr/lib/x86_64-linux-gnu/libswapped.so
        Rss:                  16 kB
        Anonymous:             0 kB
        Swap:                  8 kB
        7ffd8a1f0000-7ffd8a1f2000 r-xp 00000000 00:00 0 [vdso]
        Rss:                   8 kB
        Anonymous:             0 kB

        """

    /// GIVEN smaps with code, RELRO, data, heap, locked, shared, non-resident, swapped and vdso mappings WHEN
    /// filtered THEN only the clean, private, read-only, file-backed, resident ones remain.
    func testOnlyCleanReadOnlyFileMappingsAreReleasable() {
        let mappings = MemoryRelease.releasableMappings(smaps: Array(Self.smaps.utf8))
        XCTAssertEqual(
            mappings,
            [
                .init(start: 0x55d0_a000_0000, end: 0x55d0_a084_9000, residentKilobytes: 6560),
                .init(start: 0x7f00_0000_0000, end: 0x7f00_0028_0000, residentKilobytes: 788),
            ])
    }

    /// GIVEN truncated or garbled text WHEN filtered THEN nothing is released and nothing traps.
    func testGarbledTextReleasesNothing() {
        XCTAssertEqual(MemoryRelease.releasableMappings(smaps: Array("Rss: 12 kB\nzz-yy r-xp 0 0 1 /x\n".utf8)), [])
        XCTAssertEqual(MemoryRelease.releasableMappings(smaps: []), [])
        XCTAssertEqual(MemoryRelease.releasableMappings(smaps: Array("ffffffffffffffffff-1 r-xp 0 0 1 /x\n".utf8)), [])
    }

    /// GIVEN activity WHEN no release happened yet THEN the release comes `quiet` later; WHEN one happened
    /// recently THEN not before `spacing` after it; WHEN nothing happened since the last one THEN none at all.
    func testReleaseWaitsForQuietAndSpacing() {
        let s: UInt64 = 1_000_000_000
        func step(_ now: UInt64, _ activity: UInt64?, _ release: UInt64?) -> IdleMemoryRelease.Step {
            IdleMemoryRelease.step(
                now: now * s, lastActivity: activity.map { $0 * s }, lastRelease: release.map { $0 * s }, quiet: 10,
                spacing: 60)
        }
        XCTAssertEqual(step(5, nil, nil), .sleep)
        XCTAssertEqual(step(105, 100, nil), .wait(until: 110 * s))
        XCTAssertEqual(step(110, 100, nil), .release)
        XCTAssertEqual(step(105, 100, 90), .wait(until: 150 * s), "spacing after the previous release")
        XCTAssertEqual(step(150, 100, 90), .release)
        XCTAssertEqual(step(105, 100, 10), .wait(until: 110 * s), "an old release does not delay")
        XCTAssertEqual(step(500, 100, 150), .sleep, "nothing new since the last release")
    }

    /// GIVEN a file mapped privately, one page written then made read-only (as RELRO is), and a clean read-only
    /// mapping of the same file WHEN released THEN the written page keeps its value, the clean mapping leaves RSS
    /// and still reads the file.
    func testReleaseKeepsWrittenPagesAndDropsCleanOnes() throws {
        var template = Array("/tmp/hubagent-release-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer {
            close(fd)
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        }
        let size = 64 * 4096
        let content = [UInt8](repeating: 7, count: size)
        XCTAssertEqual(content.withUnsafeBytes { write(fd, $0.baseAddress, size) }, size)

        let written = try XCTUnwrap(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0))
        XCTAssertNotEqual(written, MAP_FAILED)
        defer { munmap(written, size) }
        written.storeBytes(of: 42, toByteOffset: 4096, as: UInt8.self)
        XCTAssertEqual(mprotect(written, size, PROT_READ), 0)

        let clean = try XCTUnwrap(mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0))
        XCTAssertNotEqual(clean, MAP_FAILED)
        defer { munmap(clean, size) }
        var sum = 0
        for page in 0..<64 { sum += Int(clean.load(fromByteOffset: page * 4096, as: UInt8.self)) }
        XCTAssertEqual(sum, 64 * 7)
        XCTAssertGreaterThan(residentPages(clean, size), 0)

        let outcome = MemoryRelease.release()
        XCTAssertGreaterThan(outcome.mappings, 0)
        XCTAssertEqual(residentPages(clean, size), 0, "the clean mapping was dropped")
        XCTAssertEqual(written.load(fromByteOffset: 4096, as: UInt8.self), 42, "the written page survived")
        XCTAssertEqual(clean.load(fromByteOffset: 4096, as: UInt8.self), 7, "the dropped page reads the file again")
    }

    /// Pages of the range mapped into this process (/proc/self/pagemap bit 63), not merely in the page cache.
    private func residentPages(_ address: UnsafeMutableRawPointer, _ size: Int) -> Int {
        let fd = open("/proc/self/pagemap", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var entries = [UInt64](repeating: 0, count: size / 4096)
        let offset = off_t(UInt(bitPattern: address) / 4096 * 8)
        XCTAssertEqual(entries.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }, size / 4096 * 8)
        return entries.filter { $0 >> 63 == 1 }.count
    }
}
