import Glibc
import Platform
import XCTest

@testable import Agent

/// The files under `Fixtures/datasources/`, found from this source file's path: SwiftPM resources
/// would need Package.swift, and the corpus is read-only test input.
enum DataSourcesFixtures {
    static let directory: String = {
        let path = #filePath
        let slash = path.lastIndex(of: "/")!
        return String(path[..<slash]) + "/Fixtures/datasources"
    }()

    static func read(_ name: String) throws -> [UInt8] {
        let path = directory + "/" + name
        let fd = try Syscall.open(path, O_RDONLY | O_CLOEXEC)
        defer { _ = try? Syscall.close(fd, subject: path) }
        return try Syscall.readAll(fd, limit: 2 << 20, subject: path)
    }

    /// Every file name in the corpus, sorted.
    static func names() -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".yaml") { names.append(name) }
        }
        return names.sorted()
    }
}

/// xorshift64*: a seedable generator, so a failing random case can be replayed from its seed.
struct XorShift: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

extension DataSourceConfiguration {
    static func parse(_ text: String, file: String = "datasources.yaml") throws(ConfigurationError)
        -> DataSourceConfiguration
    {
        try parse(Array(text.utf8), file: file)
    }
}

/// Asserts that `body` throws a `ConfigurationError` at `line`:`column` whose message or fix contains `text`.
func assertRefused<T>(
    _ body: @autoclosure () throws -> T, line: Int?, column: Int?, _ text: String, _ context: String = "",
    file: StaticString = #filePath, testLine: UInt = #line
) {
    XCTAssertThrowsError(try body(), context, file: file, line: testLine) { error in
        guard let error = error as? ConfigurationError else {
            return XCTFail("\(context): \(error)", file: file, line: testLine)
        }
        XCTAssertEqual(error.line, line, "\(context): \(error)", file: file, line: testLine)
        XCTAssertEqual(error.column, column, "\(context): \(error)", file: file, line: testLine)
        XCTAssertTrue(
            error.description.contains(text), "\(context): \"\(error)\" does not contain \"\(text)\"", file: file,
            line: testLine)
    }
}
