import Agent
import Crypto
import Southgate

/// `token.roundtrip` (only with `--online`): one real token request with the stored
/// credentials, built as the daemon builds it (a fresh client assertion, its `iat` corrected by
/// the clock offset). It costs one token request, so it is never run unasked.
enum TokenRoundTripCheck: HealthCheck {
    static let id = "token.roundtrip"

    static func run(_ context: CheckContext) -> CheckResult {
        guard context.online else {
            return .skip(
                "not run: it makes one real token request (add --online)",
                fix: "run `hubagent check --online` to prove the stored credentials")
        }
        guard let identity = context.identity else {
            if case .unreadable = context.state {
                return .skip("\(context.noIdentityReason): no credentials to use", fix: "see state.permissions")
            }
            return .skip(
                "\(context.noIdentityReason): no credentials to prove yet", fix: "onboard first (see config.boarding)")
        }
        let assertion: String
        do {
            let signer = try identity.makeSigner()
            let serverNow = context.clock.now() + (ClockOffsetCheck.offset(context) ?? 0)
            assertion = try ClientAssertion.make(
                clientID: identity.clientID, tenant: identity.tenant,
                issuedAt: Int64(serverNow.rounded(.down)), jti: try UUIDv4.random(), signer: signer)
        } catch let error as SignerError {
            return .fail("\(error)", fix: reboard(context))
        } catch {
            return .fail(
                "the client assertion cannot be built from the stored credentials: \(error)", fix: reboard(context))
        }
        let client = SouthgateClient(
            baseURL: identity.baseURL, transport: CurlTransport(options: context.transportOptions))
        do {
            let grant = try client.token(clientAssertion: assertion).value
            return .ok(
                "southgate issued an access token to \(identity.clientID) (\(identity.profile.rawValue)), valid for "
                    + "\(Format.duration(Double(grant.expiresIn))); this cost one token request"
            )
        } catch {
            switch error.kind {
            case .badRequest, .unauthorized, .forbidden, .notFound:
                return .fail(
                    "southgate refused the stored credentials of \(identity.clientID): \(error)",
                    fix: "if clock.offset passes, the agent was offboarded or its secret expired: " + reboard(context))
            case .transport:
                return .fail("no answer to the token request: \(error)", fix: "see network.tls")
            case .rateLimited, .serverError:
                return .warn("southgate could not answer now: \(error)", fix: "try again in a few minutes")
            case .preconditionFailed, .unexpectedStatus, .invalidResponse:
                return .fail(
                    "unexpected answer to the token request: \(error)",
                    fix: "check that the southgate URL \(identity.baseURL) is the one from Asset Manager")
            }
        }
    }

    private static func reboard(_ context: CheckContext) -> String {
        "download a new boarding file from Asset Manager and save it as \(context.boardingSource.path)"
    }
}
