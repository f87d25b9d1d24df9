/// Where hubagent keeps what, and how large each file may grow: every directory, file name and
/// size limit in one place (docs/design.md §2). The three directories come from the command line,
/// else from systemd's variables, else from the defaults.
public struct Layout: Equatable, Sendable {
    public static let defaultConfigurationDirectory = "/etc/hubagent"
    public static let defaultStateDirectory = "/var/lib/hubagent"
    public static let defaultRuntimeDirectory = "/run/hubagent"

    /// The names of the files in the three directories.
    public enum FileName {
        /// In the configuration directory, written by the operator.
        public static let boarding = "boarding.json"
        public static let dataSources = "datasources.yaml"
        public static let settings = "hubagent.conf"
        /// In the runtime directory, written by the daemon.
        public static let status = "status.json"
        public static let tokenSocket = "token.sock"
        /// The relay's ingest socket (docs/relay.md §1).
        public static let dataSocket = "data.sock"
        /// The relay's journal directory under the state directory (docs/relay.md §3).
        public static let relayDirectory = "relay"

        /// In the state directory: one `state.<generation>.json` per stored generation.
        public static func state(generation: Int) -> String { "state.\(generation).json" }

        /// The generation of a state file's name; nil for any other name, and for a number no
        /// hubagent writes (a save a second for a million years stays below 2^45): the next
        /// generation must not overflow.
        public static func generation(ofState name: String) -> Int? {
            guard name.hasPrefix("state."), name.hasSuffix(".json"),
                let generation = Int(name.dropFirst("state.".count).dropLast(".json".count)),
                (0..<(1 << 52)).contains(generation)
            else { return nil }
            return generation
        }
    }

    /// The most bytes read from each file: anything larger is not what it claims to be.
    public enum Limit {
        /// A boarding file is about 2 KiB.
        public static let boarding = 64 * 1024
        /// Thousands of data points fit in far less.
        public static let dataSources = 1 << 20
        public static let settings = 64 * 1024
        public static let status = 64 * 1024
        /// One generation of the stored state: a few KiB with an RSA key.
        public static let state = 1 << 20
        /// The extra CA bundle (`ca_file`): the system's whole store is about 200 KiB.
        public static let caBundle = 4 << 20
        /// The daemon's answer on the token socket, as read by `hubagent token`.
        public static let tokenSocketAnswer = 1 << 20
    }

    public var configurationDirectory: String
    public var stateDirectory: String
    public var runtimeDirectory: String

    public init(
        configurationDirectory: String = Layout.defaultConfigurationDirectory,
        stateDirectory: String = Layout.defaultStateDirectory,
        runtimeDirectory: String = Layout.defaultRuntimeDirectory
    ) {
        self.configurationDirectory = configurationDirectory
        self.stateDirectory = stateDirectory
        self.runtimeDirectory = runtimeDirectory
    }

    /// Flags (nil when not given) win over systemd's `CONFIGURATION_DIRECTORY`, `STATE_DIRECTORY`
    /// and `RUNTIME_DIRECTORY`, which win over the defaults (docs/design.md §2).
    public init(
        configurationDirectory: String?, stateDirectory: String?, runtimeDirectory: String?,
        environment: [String: String]
    ) {
        func pick(_ flag: String?, _ variable: String, _ fallback: String) -> String {
            if let flag { return flag }
            // systemd may list several directories separated by ':'; ours is the first.
            if let value = environment[variable], let first = value.split(separator: ":").first { return String(first) }
            return fallback
        }
        self.init(
            configurationDirectory: pick(
                configurationDirectory, "CONFIGURATION_DIRECTORY",
                Self.defaultConfigurationDirectory),
            stateDirectory: pick(stateDirectory, "STATE_DIRECTORY", Self.defaultStateDirectory),
            runtimeDirectory: pick(runtimeDirectory, "RUNTIME_DIRECTORY", Self.defaultRuntimeDirectory))
    }

    public var boardingFile: String { configurationDirectory + "/" + FileName.boarding }
    public var dataSourcesFile: String { configurationDirectory + "/" + FileName.dataSources }
    public var settingsFile: String { configurationDirectory + "/" + FileName.settings }
    public var statusFile: String { runtimeDirectory + "/" + FileName.status }
    public var tokenSocket: String { runtimeDirectory + "/" + FileName.tokenSocket }
    public var dataSocket: String { runtimeDirectory + "/" + FileName.dataSocket }
    public var relayDirectory: String { stateDirectory + "/" + FileName.relayDirectory }
}
