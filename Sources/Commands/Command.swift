import Agent
import Platform

/// Subcommand dispatch and the help texts. Parsing is by hand: hubagent has no package dependencies.
public enum Command {
    static let overview = """
        hubagent \(HubAgentVersion.string): keeps this gateway connected to Insights Hub.

        Usage: hubagent <command> [options]

        Commands:
          run                run the agent in the foreground (what systemd starts)
          status [--json]    the agent's state, credentials' schedule and last error
          check [--json]     diagnostics: files, state, network, TLS, clock, token, systemd
          token              print a valid access token from the running daemon
          send [FILE]        hand values (NDJSON) to the data relay
          relay [status]     the data relay's queue and uploads; `relay dead-letters` what was refused
          validate [FILE…]   check boarding, data source and settings files
          version            print the version
          help [command]     show help for a command

        Run `hubagent help <command>` for details.
        """

    static let helpTexts: [String: String] = [
        "run": RunCommand.help,
        "validate": ValidateCommand.help,
        "status": StatusCommand.help,
        "check": CheckCommand.help,
        "token": TokenCommand.help,
        "send": SendCommand.help,
        "relay": RelayCommand.help,
        "version": """
        Usage: hubagent version

        Prints the version of hubagent and exits.
        """,
        "help": """
        Usage: hubagent help [command]

        Prints an overview, or the help text of one command.
        """,
    ]

    /// Runs the subcommand `arguments` names (without the program name), then exits with its
    /// status: the whole of `main.swift`.
    public static func run(_ arguments: [String]) -> Never {
        ProcessControl.exit(dispatch(arguments))
    }

    /// Runs the subcommand `arguments` names (without the program name); its exit status.
    public static func dispatch(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            Output.error(overview)
            return ExitCode.usage
        }
        let rest = Array(arguments.dropFirst())
        if rest.contains("--help") || rest.contains("-h"), let text = helpTexts[command] {
            Output.line(text)
            return ExitCode.ok
        }
        switch command {
        case "--help", "-h":
            Output.line(overview)
            return ExitCode.ok
        case "help":
            return help(rest)
        case "run":
            return RunCommand.main(rest)
        case "validate":
            return ValidateCommand.main(rest)
        case "status":
            return StatusCommand.main(rest)
        case "check":
            return CheckCommand.main(rest)
        case "token":
            return TokenCommand.main(rest)
        case "send":
            return SendCommand.main(rest)
        case "relay":
            return RelayCommand.main(rest)
        case "version", "--version":
            Output.line("hubagent \(HubAgentVersion.string)")
            return ExitCode.ok
        default:
            Output.error("hubagent: unknown command '\(command)'; run `hubagent --help` for the list")
            return ExitCode.usage
        }
    }

    private static func help(_ arguments: [String]) -> Int32 {
        guard let topic = arguments.first else {
            Output.line(overview)
            return ExitCode.ok
        }
        guard let text = helpTexts[topic] else {
            Output.error(
                "hubagent: no help for '\(topic)'; commands: \(helpTexts.keys.sorted().joined(separator: ", "))")
            return ExitCode.usage
        }
        Output.line(text)
        return ExitCode.ok
    }
}

enum Output {
    static func line(_ text: String) { FileOutput.write(fd: 1, text + "\n") }
    static func error(_ text: String) { FileOutput.write(fd: 2, text + "\n") }
}
