extension Unicode.Scalar {
    /// C0 controls (tab, newline and carriage return included), DEL and C1 controls: characters
    /// that forge log lines or move a terminal's cursor. The one rule every check of operator
    /// text uses (boarding file, data sources, YAML).
    var isControlCharacter: Bool {
        value < 0x20 || (0x7F...0x9F).contains(value)
    }
}
