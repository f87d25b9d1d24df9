/// The one place the product version is written down; `make deb` and `hubagent version` read it.
public enum HubAgentVersion {
    public static let string = "0.1.0"
}
