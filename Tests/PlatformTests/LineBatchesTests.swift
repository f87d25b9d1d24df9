import Glibc
import XCTest

@testable import Platform

final class LineBatchesTests: XCTestCase {
    private func batches(_ text: String, maximum: Int) throws -> [LineBatches.Batch] {
        let path = "/tmp/line-batches-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        defer { unlink(path) }
        var reader = try LineBatches(path: path, maximumBytes: maximum)
        defer { reader.close() }
        var result: [LineBatches.Batch] = []
        while let batch = try reader.next() { result.append(batch) }
        return result
    }

    /// GIVEN lines WHEN batched by a bound THEN whole lines only, numbered, nothing lost or repeated.
    func testWholeLinesWithinTheBound() throws {
        let lines = (1...100).map { "{\"line\":\($0)}" }
        let result = try batches(lines.joined(separator: "\n"), maximum: 64)
        XCTAssertEqual(result.flatMap { String(decoding: $0.bytes, as: UTF8.self).split(separator: "\n") }.count, 100)
        XCTAssertEqual(String(decoding: result.flatMap(\.bytes), as: UTF8.self), lines.joined(separator: "\n") + "\n")
        for batch in result {
            XCTAssertLessThanOrEqual(batch.bytes.count, 64)
            XCTAssertEqual(batch.bytes.last, 10)
        }
        XCTAssertEqual(
            result.map(\.firstLine), result.indices.map { 1 + result[..<$0].reduce(0) { $0 + $1.lineCount } })
    }

    /// GIVEN a line longer than the bound WHEN batched THEN it is a batch of its own, whole.
    func testLongLineIsItsOwnBatch() throws {
        let long = String(repeating: "x", count: 200)
        let result = try batches("a\n\(long)\nb\n", maximum: 64)
        XCTAssertEqual(result.map { String(decoding: $0.bytes, as: UTF8.self) }, ["a\n", long + "\n", "b\n"])
        XCTAssertEqual(result.map(\.firstLine), [1, 2, 3])
    }

    func testEmptyInput() throws {
        XCTAssertEqual(try batches("", maximum: 64), [])
    }
}
