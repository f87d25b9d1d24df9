import Agent
import Glibc

/// Exit codes (design.md §3): 0 ok, 64 usage, 78 configuration error a restart cannot fix, 1 other.
enum ExitCode {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 64
    static let configuration: Int32 = 78
}

let arguments = Array(CommandLine.arguments.dropFirst())
exit(Command.dispatch(arguments))
