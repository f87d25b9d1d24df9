import Commands

Command.run(Array(CommandLine.arguments.dropFirst()))
