import Southgate
import XCTest

@testable import Agent
@testable import Crypto

/// Values shared by the Agent tests: boarding files with a real (HS256, random key) IAT,
/// identities for both profiles, southgate failures. No RSA key is generated: PEM fields of the
/// stored state are opaque `Secret` strings to everything tested here.
enum Fixture {
    /// 2027-01-15T08:00:00Z: the fake clock's "now".
    static let t0 = 1_800_000_000.0
    static let clientID = "5d06988ac50a44758ed0d9bff9edc4a0"
    static let tenant = "castidev"
    static let baseURL = "https://southgate.example.test"
    static let registrationURI = baseURL + "/api/agentmanagement/v3/register/" + clientID

    /// A JWT shaped like AgentIAM's IAT, signed HS256 with a fresh random key.
    static func iat(exp: Int64?, sub: String = clientID, jti: String = "iat-1") throws -> String {
        var claims =
            #""iss":"https://southgate.example.test/api/agentmanagement/","sub":"\#(sub)","jti":"\#(jti)","iat":"#
            + #"1799990000"#
        if let exp { claims += #","exp":\#(exp)"# }
        let key = SecretBytes(try SecureRandom.bytes(32))
        return try JWS.sign(
            header: Array(#"{"kid":"key-id-1","alg":"HS256","typ":"JWT"}"#.utf8),
            payload: Array("{\(claims)}".utf8), with: .hs256(key: key))
    }

    /// A boarding file as Asset Manager writes it; every field can be replaced.
    static func boardingJSON(
        iat: String, profile: String = #"["SHARED_SECRET"]"#, clientID: String = clientID,
        tenant: String = tenant, baseURL: String = baseURL,
        expiration: String? = "2027-01-22T08:00:00.000Z"
    ) -> String {
        var text = """
            {
              "content": {
                "baseUrl": "\(baseURL)",
                "iat": "\(iat)",
                "clientCredentialProfile": \(profile),
                "clientId": "\(clientID)",
                "tenant": "\(tenant)"
              }
            """
        if let expiration { text += ",\n  \"expiration\": \"\(expiration)\"" }
        return text + "\n}\n"
    }

    /// A parsed boarding file; the IAT expires a week after `t0` unless told otherwise.
    static func boarding(
        profile: CredentialProfile = .sharedSecret, iatExp: Int64? = Int64(t0) + 7 * 86400,
        expiration: Double? = t0 + 7 * 86400, jti: String = "iat-1"
    ) throws -> BoardingConfiguration {
        let text = boardingJSON(
            iat: try iat(exp: iatExp, jti: jti), profile: "[\"\(profile.rawValue)\"]",
            expiration: expiration.map(Format.time))
        return try BoardingConfiguration.parse(Array(text.utf8), file: "/etc/hubagent/boarding.json")
    }

    static func registration(
        _ tag: String, profile: CredentialProfile = .sharedSecret, issuedAt: Double, lifetime: Double?
    ) -> Registration {
        Registration(
            clientSecret: profile == .sharedSecret ? Secret("secret-\(tag)") : nil,
            privateKeyPEM: profile == .rsa3072
                ? SecretBytes("-----BEGIN PRIVATE KEY-----\nkey-\(tag)\n-----END PRIVATE KEY-----\n") : nil,
            registrationAccessToken: Secret("rat-\(tag)"), registrationClientURI: registrationURI,
            secretExpiresAt: lifetime.map { issuedAt + $0 }, issuedAt: issuedAt)
    }

    /// An onboarded identity; by default issued a day before `t0` with a 30-day secret, so
    /// rotation is due at issue + 20 days, far after the first token refresh.
    static func identity(
        profile: CredentialProfile = .sharedSecret, issuedAt: Double = t0 - 86400, lifetime: Double? = 30 * 86400,
        withPrevious: Bool = true, fingerprint: String = "fingerprint-of-the-first-boarding-file",
        tag: String = "current"
    ) -> Identity {
        Identity(
            profile: profile, clientID: clientID, tenant: tenant, baseURL: baseURL, boardingFingerprint: fingerprint,
            current: registration(tag, profile: profile, issuedAt: issuedAt, lifetime: lifetime),
            previous: withPrevious
                ? registration("previous", profile: profile, issuedAt: issuedAt - 20 * 86400, lifetime: 30 * 86400)
                : nil)
    }

    static func stored(_ identity: Identity?, generation: Int = 7, used: [String] = []) -> StoredState {
        var state = StoredState()
        state.generation = generation
        state.identity = identity
        state.usedBoardingFingerprints = used
        return state
    }

    static func grant(expiresIn: Double = 3600, serverTime: Double?) -> Lifecycle.TokenGrant {
        Lifecycle.TokenGrant(value: Secret("access-token"), expiresIn: expiresIn, serverTime: serverTime)
    }

    static func transport(_ operation: String) -> Lifecycle.Failure {
        .southgate(
            SouthgateError(kind: .transport(.couldNotConnect(detail: "Connection refused")), operation: operation))
    }

    static func refused(
        _ kind: SouthgateError.Kind, _ operation: String, status: Int, serverTime: Double? = nil,
        retryAfter: Double? = nil
    ) -> Lifecycle.Failure {
        .southgate(
            SouthgateError(
                kind: kind, operation: operation, status: status,
                serverMessage: "invalid_client: [6f7c7c836d3043b498b28a46d5f8a201] refused",
                retryAfter: retryAfter, serverTime: serverTime))
    }
}

extension Array where Element == Lifecycle.Action {
    /// The actions that talk to southgate.
    var network: [Lifecycle.Action] {
        filter {
            switch $0 {
            case .register, .rotate, .fetchToken, .uploadDataSources: true
            case .persist, .store, .wakeUp, .log, .prepareKey: false
            }
        }
    }

    /// Everything but log lines, in order.
    var effects: [Lifecycle.Action] {
        filter { if case .log = $0 { false } else { true } }
    }

    /// The deadlines of `.wakeUp` actions; nil is "cancel the timer".
    var wakeUps: [Double?] {
        var deadlines = [Double?]()
        for action in self { if case .wakeUp(let at) = action { deadlines.append(at) } }
        return deadlines
    }

    var persisted: [StoredState] {
        compactMap { if case .persist(let state) = $0 { state } else { nil } }
    }

    func logs(_ level: Lifecycle.LogLevelName) -> [String] {
        compactMap { if case .log(level, let text) = $0 { text } else { nil } }
    }

    var registers: Int {
        filter { if case .register = $0 { true } else { false } }.count
    }
}
