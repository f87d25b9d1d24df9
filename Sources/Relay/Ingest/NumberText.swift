/// Numbers read from their text, exactly: a JSON number's source or a string's content
/// ("10", "-3.5e2", "00000000"). The grammar is JSON's, except that leading zeros are allowed
/// (quality codes are written `00000000`, docs/protocol.md §14); no sign `+`, no spaces, no `NaN`
/// or `Infinity`.
enum NumberText {
    enum IntegerResult: Equatable {
        case value(Int64)
        case notANumber
        /// A number with a fraction, e.g. `1.5`, `1e-3`.
        case notInteger
        /// An integer beyond Int64.
        case outOfRange
    }

    /// The parts of a decimal number, or nil if `bytes` is not one.
    private struct Parts {
        var negative = false
        var integer: Range<Int>
        var fraction: Range<Int>
        var exponent = 0
    }

    private static func parts(_ bytes: ArraySlice<UInt8>) -> Parts? {
        var index = bytes.startIndex
        let end = bytes.endIndex
        var negative = false
        if index < end, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        let integerStart = index
        while index < end, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        let integer = integerStart..<index
        guard !integer.isEmpty else { return nil }
        var fraction = index..<index
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < end, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            fraction = fractionStart..<index
            guard !fraction.isEmpty else { return nil }
        }
        var exponent = 0
        if index < end, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var exponentNegative = false
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentStart = index
            while index < end, bytes[index] &- UInt8(ascii: "0") < 10 {
                // Saturate: anything past a million digits is out of every range here.
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                index += 1
            }
            guard index > exponentStart else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard index == end else { return nil }
        return Parts(negative: negative, integer: integer, fraction: fraction, exponent: exponent)
    }

    static func isNumber(_ bytes: ArraySlice<UInt8>) -> Bool { parts(bytes) != nil }

    /// The exact integer value, whatever the notation (`15`, `1.5e1`, `150e-1`), without allocating.
    static func integer(_ bytes: ArraySlice<UInt8>) -> IntegerResult {
        guard let parts = parts(bytes) else { return .notANumber }
        // The significant digits (first to last non-zero) as an integer, and where the last one sits.
        var significand: UInt64 = 0
        var overflow = false
        var started = false
        var zerosSinceLast = 0
        var lastInFraction = 0  // fraction digits up to the last non-zero one; 0 when it is in the integer part
        var fractionPosition = 0
        func feed(_ range: Range<Int>, inFraction: Bool) {
            for index in range {
                if inFraction { fractionPosition += 1 }
                let digit = UInt64(bytes[index] - UInt8(ascii: "0"))
                if digit == 0 {
                    if started { zerosSinceLast += 1 }
                    continue
                }
                for _ in 0...zerosSinceLast where !overflow {
                    let (product, over) = significand.multipliedReportingOverflow(by: 10)
                    overflow = over
                    significand = product
                }
                let (sum, over) = significand.addingReportingOverflow(digit)
                overflow = overflow || over
                significand = sum
                started = true
                zerosSinceLast = 0
                lastInFraction = inFraction ? fractionPosition : 0
            }
        }
        feed(parts.integer, inFraction: false)
        feed(parts.fraction, inFraction: true)
        if !started { return .value(0) }
        // value = significand × 10^exponent
        let exponent =
            lastInFraction > 0
            ? parts.exponent - lastInFraction : parts.exponent + zerosSinceLast - parts.fraction.count
        if exponent < 0 { return .notInteger }
        if overflow || exponent > 19 { return .outOfRange }
        var magnitude = significand
        for _ in 0..<exponent {
            let (product, over) = magnitude.multipliedReportingOverflow(by: 10)
            if over { return .outOfRange }
            magnitude = product
        }
        if parts.negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return .outOfRange }
            return .value(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
        }
        guard magnitude <= UInt64(Int64.max) else { return .outOfRange }
        return .value(Int64(magnitude))
    }

    /// The nearest Double; nil for text that is not a number. May be infinite (`1e400`).
    static func double(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard parts(bytes) != nil else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self))
    }
}
