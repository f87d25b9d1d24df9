/// Exit codes (docs/design.md §3): 0 ok, 64 usage, 78 configuration error a restart cannot fix, 1 other.
public enum ExitCode {
    public static let ok: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
    public static let configuration: Int32 = 78
}
