import Platform

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
        /// systemd's `FileDescriptorName=` of the token socket (systemd/hubagent.socket).
        public static let tokenSocketDescriptor = "token"
        /// systemd's credential holding the boarding file (`LoadCredential=` in the unit).
        public static let boardingCredential = "boarding.json"
        /// The relay's ingest socket (docs/relay.md §1), and its `FileDescriptorName=`
        /// (systemd/hubagent-data.socket).
        public static let dataSocket = "data.sock"
        public static let dataSocketDescriptor = "data"
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

    /// Under the unit the runtime directory is split in two (docs/design.md §8): the socket units
    /// own `/run/hubagent` and the sockets in it, with the mode and group the operator gave them,
    /// and the service writes into this subdirectory of it (`RuntimeDirectory=hubagent/daemon`).
    /// systemd hands a service's RuntimeDirectory= to its dynamic user at every start, whatever
    /// is inside, and removes it at every stop: a socket there would lose its group and its file.
    public static let serviceSubdirectory = "daemon"

    public var configurationDirectory: String
    public var stateDirectory: String
    /// Where the daemon writes (status.json), and binds its sockets when systemd passed none.
    public var runtimeDirectory: String
    /// Where the sockets are: the runtime directory, or its parent under the unit.
    public var socketDirectory: String

    public init(
        configurationDirectory: String = Layout.defaultConfigurationDirectory,
        stateDirectory: String = Layout.defaultStateDirectory,
        runtimeDirectory: String = Layout.defaultRuntimeDirectory
    ) {
        self.configurationDirectory = configurationDirectory
        self.stateDirectory = stateDirectory
        self.runtimeDirectory = runtimeDirectory
        socketDirectory = runtimeDirectory
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
        let suffix = "/" + Self.serviceSubdirectory
        if runtimeDirectory == nil, environment["RUNTIME_DIRECTORY"] != nil, self.runtimeDirectory.hasSuffix(suffix) {
            socketDirectory = String(self.runtimeDirectory.dropLast(suffix.count))
        }
    }

    public var boardingFile: String { configurationDirectory + "/" + FileName.boarding }
    public var dataSourcesFile: String { configurationDirectory + "/" + FileName.dataSources }
    public var settingsFile: String { configurationDirectory + "/" + FileName.settings }
    public var tokenSocket: String { socketDirectory + "/" + FileName.tokenSocket }
    public var dataSocket: String { socketDirectory + "/" + FileName.dataSocket }
    public var relayDirectory: String { stateDirectory + "/" + FileName.relayDirectory }

    /// The daemon's status.json. A client (`status`, `check`) on the default layout while the unit
    /// runs finds it in the service's subdirectory.
    public var statusFile: String {
        let service = runtimeDirectory + "/" + Self.serviceSubdirectory
        if runtimeDirectory == socketDirectory, FileSystemEntry.isDirectory(service) {
            return service + "/" + FileName.status
        }
        return runtimeDirectory + "/" + FileName.status
    }
}
