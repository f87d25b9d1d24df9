public import Crypto
import JSON

/// One set of credentials the server issued: from onboarding (`POST /register`) or a rotation
/// (`PUT /register/{id}`). Times are on the server's clock.
public struct Registration: Equatable, Sendable {
    /// SHARED_SECRET: the HMAC key of the client assertion.
    public var clientSecret: Secret?
    /// RSA_3072: the private key (PKCS#8 PEM) whose public half the server holds.
    public var privateKeyPEM: SecretBytes?
    public var registrationAccessToken: Secret
    public var registrationClientURI: String
    public var secretExpiresAt: Double?
    public var issuedAt: Double

    public init(
        clientSecret: Secret?, privateKeyPEM: SecretBytes?, registrationAccessToken: Secret,
        registrationClientURI: String, secretExpiresAt: Double?, issuedAt: Double
    ) {
        self.clientSecret = clientSecret
        self.privateKeyPEM = privateKeyPEM
        self.registrationAccessToken = registrationAccessToken
        self.registrationClientURI = registrationClientURI
        self.secretExpiresAt = secretExpiresAt
        self.issuedAt = issuedAt
    }
}

/// Who this gateway is to Insights Hub, and the credentials that prove it.
public struct Identity: Equatable, Sendable {
    public var profile: CredentialProfile
    public var clientID: String
    public var tenant: String
    public var baseURL: String
    public var boardingFingerprint: String
    public var current: Registration
    /// Kept after a rotation: its RAT is still accepted for the next rotation (docs/protocol.md §5.2),
    /// which is the way back when the current one is refused (docs/design.md §4 rule 1).
    public var previous: Registration?
    /// RSA_3072: the key for the rotation under way, stored before the PUT is sent so that a lost
    /// answer or a crash can repeat the same PUT (docs/design.md §4 rule 5).
    public var pendingKeyPEM: SecretBytes?
    /// A rotation was started and has not been stored as finished: resume it first on start.
    public var rotationInProgress: Bool

    public init(
        profile: CredentialProfile, clientID: String, tenant: String, baseURL: String, boardingFingerprint: String,
        current: Registration, previous: Registration? = nil, pendingKeyPEM: SecretBytes? = nil,
        rotationInProgress: Bool = false
    ) {
        self.profile = profile
        self.clientID = clientID
        self.tenant = tenant
        self.baseURL = baseURL
        self.boardingFingerprint = boardingFingerprint
        self.current = current
        self.previous = previous
        self.pendingKeyPEM = pendingKeyPEM
        self.rotationInProgress = rotationInProgress
    }
}

/// An onboarding under way: stored before the IAT is sent (RSA_3072: with the key pair whose
/// public half goes in the request), so that a restart repeats it with the same key.
public struct PendingOnboarding: Equatable, Sendable {
    public var boardingFingerprint: String
    public var keyPEM: SecretBytes?

    public init(boardingFingerprint: String, keyPEM: SecretBytes?) {
        self.boardingFingerprint = boardingFingerprint
        self.keyPEM = keyPEM
    }
}

/// What was last uploaded as the data source configuration, so that an unchanged file (restart
/// included) causes no upload, and the next PUT carries the right `If-Match` (docs/protocol.md §7).
public struct DataSourceRecord: Equatable, Sendable {
    /// The agent it was uploaded for: a new identity starts from eTag "0" again.
    public var clientID: String
    public var contentHash: String
    public var configurationID: String
    public var eTag: String
    /// Epoch seconds, local clock.
    public var uploadedAt: Double

    public init(clientID: String, contentHash: String, configurationID: String, eTag: String, uploadedAt: Double) {
        self.clientID = clientID
        self.contentHash = contentHash
        self.configurationID = configurationID
        self.eTag = eTag
        self.uploadedAt = uploadedAt
    }
}

/// Everything the daemon keeps in its state directory, written as one file per generation so
/// that a credential and its key always change together, atomically (docs/platform-notes.md systemd §4.2.6).
public struct StoredState: Equatable, Sendable {
    public static let formatVersion = 1

    public var generation: Int = 0
    public var identity: Identity?
    public var onboarding: PendingOnboarding?
    /// Boarding files whose IAT the server accepted or refused: never sent again (docs/design.md §4 rule 2).
    public var usedBoardingFingerprints: [String] = []
    /// The identity replaced by the last re-onboarding, kept for the operator, not used.
    public var archivedIdentity: Identity?
    public var dataSources: DataSourceRecord?

    /// The eTag to send with the next upload for `clientID` ("0" the first time, docs/protocol.md §7).
    public func dataSourceETag(for clientID: String) -> String {
        dataSources?.clientID == clientID ? dataSources!.eTag : "0"
    }

    public init() {}

    public func hasUsed(_ fingerprint: String) -> Bool { usedBoardingFingerprints.contains(fingerprint) }

    public mutating func markUsed(_ fingerprint: String) {
        if !hasUsed(fingerprint) { usedBoardingFingerprints.append(fingerprint) }
        // A gateway sees a handful of boarding files in its life; keep the list bounded anyway.
        if usedBoardingFingerprints.count > 64 {
            usedBoardingFingerprints.removeFirst(usedBoardingFingerprints.count - 64)
        }
    }
}

// MARK: - JSON form

struct StateFormatError: Error, CustomStringConvertible {
    let description: String
}

extension Registration {
    var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let clientSecret { members.append(("clientSecret", .string(clientSecret.exposed))) }
        if let privateKeyPEM { members.append(("privateKey", .string(privateKeyPEM.text))) }
        members.append(("registrationAccessToken", .string(registrationAccessToken.exposed)))
        members.append(("registrationClientUri", .string(registrationClientURI)))
        if let secretExpiresAt { members.append(("secretExpiresAt", .number(secretExpiresAt))) }
        members.append(("issuedAt", .number(issuedAt)))
        return .object(members)
    }

    init(json: JSONValue) throws(StateFormatError) {
        guard let rat = json["registrationAccessToken"]?.stringValue,
            let uri = json["registrationClientUri"]?.stringValue,
            let issuedAt = json["issuedAt"]?.numberValue
        else { throw StateFormatError(description: "registration is incomplete") }
        self.init(
            clientSecret: json["clientSecret"]?.stringValue.map(Secret.init),
            privateKeyPEM: json["privateKey"]?.stringValue.map(SecretBytes.init),
            registrationAccessToken: Secret(rat), registrationClientURI: uri,
            secretExpiresAt: json["secretExpiresAt"]?.numberValue, issuedAt: issuedAt)
    }
}

extension Identity {
    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("profile", .string(profile.rawValue)), ("clientId", .string(clientID)), ("tenant", .string(tenant)),
            ("baseUrl", .string(baseURL)), ("boardingFingerprint", .string(boardingFingerprint)),
            ("current", current.json),
        ]
        if let previous { members.append(("previous", previous.json)) }
        if let pendingKeyPEM { members.append(("pendingKey", .string(pendingKeyPEM.text))) }
        members.append(("rotationInProgress", .bool(rotationInProgress)))
        return .object(members)
    }

    init(json: JSONValue) throws(StateFormatError) {
        guard let profileName = json["profile"]?.stringValue, let profile = CredentialProfile(rawValue: profileName),
            let clientID = json["clientId"]?.stringValue, let tenant = json["tenant"]?.stringValue,
            let baseURL = json["baseUrl"]?.stringValue, let fingerprint = json["boardingFingerprint"]?.stringValue,
            let current = json["current"]
        else { throw StateFormatError(description: "identity is incomplete") }
        let registration = try Registration(json: current)
        var previous: Registration?
        if let value = json["previous"] { previous = try Registration(json: value) }
        self.init(
            profile: profile, clientID: clientID, tenant: tenant, baseURL: baseURL, boardingFingerprint: fingerprint,
            current: registration, previous: previous,
            pendingKeyPEM: json["pendingKey"]?.stringValue.map(SecretBytes.init),
            rotationInProgress: json["rotationInProgress"]?.boolValue ?? false)
        if profile == .rsa3072 && current["privateKey"] == nil {
            throw StateFormatError(description: "RSA_3072 identity without a private key")
        }
        if profile == .sharedSecret && current["clientSecret"] == nil {
            throw StateFormatError(description: "SHARED_SECRET identity without a client secret")
        }
    }
}

extension StoredState {
    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("format", .number(Double(Self.formatVersion))), ("generation", .number(Double(generation))),
        ]
        if let identity { members.append(("identity", identity.json)) }
        if let onboarding {
            var pending: [(String, JSONValue)] = [("boardingFingerprint", .string(onboarding.boardingFingerprint))]
            if let key = onboarding.keyPEM { pending.append(("key", .string(key.text))) }
            members.append(("onboarding", .object(pending)))
        }
        members.append(("usedBoardingFingerprints", .array(usedBoardingFingerprints.map { .string($0) })))
        if let archivedIdentity { members.append(("archivedIdentity", archivedIdentity.json)) }
        if let record = dataSources {
            members.append(
                (
                    "dataSources",
                    .object([
                        ("clientId", .string(record.clientID)), ("contentHash", .string(record.contentHash)),
                        ("configurationId", .string(record.configurationID)), ("eTag", .string(record.eTag)),
                        ("uploadedAt", .number(record.uploadedAt)),
                    ])
                ))
        }
        return .object(members)
    }

    init(json: JSONValue) throws(StateFormatError) {
        guard json["format"]?.int64Value == Int64(Self.formatVersion) else {
            throw StateFormatError(description: "unknown state format (written by a newer hubagent?)")
        }
        self.init()
        generation = Int(json["generation"]?.int64Value ?? 0)
        if let value = json["identity"] { identity = try Identity(json: value) }
        if let value = json["onboarding"] {
            guard let fingerprint = value["boardingFingerprint"]?.stringValue else {
                throw StateFormatError(description: "onboarding record is incomplete")
            }
            onboarding = PendingOnboarding(
                boardingFingerprint: fingerprint, keyPEM: value["key"]?.stringValue.map(SecretBytes.init))
        }
        usedBoardingFingerprints = json["usedBoardingFingerprints"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let value = json["archivedIdentity"] { archivedIdentity = try? Identity(json: value) }
        // A damaged record only costs one upload more: ignore it rather than fail.
        if let value = json["dataSources"], let clientID = value["clientId"]?.stringValue,
            let hash = value["contentHash"]?.stringValue,
            let configurationID = value["configurationId"]?.stringValue, let eTag = value["eTag"]?.stringValue,
            let uploadedAt = value["uploadedAt"]?.numberValue
        {
            dataSources = DataSourceRecord(
                clientID: clientID, contentHash: hash, configurationID: configurationID, eTag: eTag,
                uploadedAt: uploadedAt)
        }
    }
}
