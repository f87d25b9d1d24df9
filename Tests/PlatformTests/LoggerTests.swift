import Glibc
import Synchronization
import XCTest

@testable import Platform

/// Collects log lines in memory (swift-log's InMemoryLogging).
final class MemoryLogSink: LogSink {
    private let lines = Mutex<[(LogLevel, String)]>([])

    func write(_ level: LogLevel, _ message: String) {
        lines.withLock { $0.append((level, message)) }
    }

    var recorded: [(LogLevel, String)] { lines.withLock { $0 } }
}

/// Counts how often a log message was composed.
final class CompositionCounter: Sendable {
    private let count = Mutex(0)

    func compose(_ text: String) -> String {
        count.withLock { $0 += 1 }
        return text
    }

    var value: Int { count.withLock { $0 } }
}

final class LoggerTests: XCTestCase {
    /// GIVEN a logger at notice WHEN every level logs THEN only error, warning and notice reach the sink, in order,
    /// with their levels.
    func testLevelFiltering() {
        let sink = MemoryLogSink()
        let logger = Logger(minimum: .notice, sink: sink)
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.log(.info, "i2")
        XCTAssertEqual(sink.recorded.map(\.0), [.notice, .warning, .error])
        XCTAssertEqual(sink.recorded.map(\.1), ["n", "w", "e"])
    }

    /// GIVEN a filtered level WHEN logging THEN the message is not even composed; raising the level at run time lets it
    /// through.
    func testFilteredMessageNotComposedAndLevelChangeable() {
        let sink = MemoryLogSink()
        let logger = Logger(minimum: .info, sink: sink)
        let counter = CompositionCounter()
        logger.debug(counter.compose("expensive"))
        XCTAssertEqual(counter.value, 0)
        logger.level = .debug
        logger.debug(counter.compose("expensive"))
        XCTAssertEqual(counter.value, 1)
        XCTAssertEqual(sink.recorded.map(\.1), ["expensive"])
        XCTAssertEqual(logger.level, .debug)
    }

    /// GIVEN level names and aliases WHEN parsed THEN the syslog priority; unknown names are nil.
    func testLevelNames() {
        XCTAssertEqual(LogLevel(name: "ERR"), .error)
        XCTAssertEqual(LogLevel(name: "warn"), .warning)
        XCTAssertEqual(LogLevel(name: "Notice"), .notice)
        XCTAssertNil(LogLevel(name: "trace"))
        XCTAssertEqual(LogLevel.allCases.map(\.rawValue), [3, 4, 5, 6, 7])
        XCTAssertEqual(LogLevel.allCases.map { LogLevel(name: $0.name) }, LogLevel.allCases)
        XCTAssertTrue(LogLevel.error < LogLevel.debug)
    }

    /// GIVEN missing, garbage and mismatched $JOURNAL_STREAM values WHEN checked THEN stderr is not the journal.
    func testStderrIsJournalFalseForBadValues() {
        for value in [nil, "", "garbage", "1:2:3", ":", "12:", "-1:5", "0:0", "18446744073709551615:1"] as [String?] {
            XCTAssertFalse(StderrLogSink.stderrIsJournal(journalStream: value), String(describing: value))
        }
        XCTAssertFalse(StderrLogSink(environment: [:]).toJournal)
    }

    /// GIVEN $JOURNAL_STREAM naming fd 2's own device and inode WHEN checked THEN stderr is the journal.
    func testStderrIsJournalTrueWhenDeviceAndInodeMatch() {
        var info = stat()
        XCTAssertEqual(fstat(2, &info), 0)
        let matching = "\(UInt64(info.st_dev)):\(UInt64(info.st_ino))"
        XCTAssertTrue(StderrLogSink.stderrIsJournal(journalStream: matching))
        XCTAssertTrue(StderrLogSink(environment: ["JOURNAL_STREAM": matching]).toJournal)
        XCTAssertFalse(
            StderrLogSink.stderrIsJournal(journalStream: "\(UInt64(info.st_dev)):\(UInt64(info.st_ino) + 1)"))
    }
}
