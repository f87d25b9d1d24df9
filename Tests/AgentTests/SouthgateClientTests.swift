import Crypto
import JSON
import Synchronization
import XCTest

@testable import Southgate

/// A transport that records every request and answers from a script.
final class RecordingTransport: Transport, Sendable {
    private let state = Mutex<(requests: [HTTPRequest], answers: [Result<HTTPResponse, TransportError>])>(([], []))

    init(_ answers: Result<HTTPResponse, TransportError>...) {
        state.withLock { $0.answers = answers }
    }

    var requests: [HTTPRequest] { state.withLock { $0.requests } }

    func perform(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse {
        let answer = state.withLock { state -> Result<HTTPResponse, TransportError> in
            state.requests.append(request)
            return state.answers.isEmpty ? .failure(.other(detail: "no scripted answer")) : state.answers.removeFirst()
        }
        return try answer.get()
    }
}

final class SouthgateClientTests: XCTestCase {
    private let base = "https://southgate.example.test"
    private let uri = "https://southgate.example.test/api/agentmanagement/v3/register/5d06988ac50a44758ed0d9bff9edc4a0"
    private let jwk = JWK(
        e: "AQAB",
        n:
            "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzH"
            + "HyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXER"
            + "GYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1Vb"
            + "C2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
        kid: "3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17")

    private func json(_ text: String, status: Int, headers: [String: String] = [:]) -> Result<
        HTTPResponse, TransportError
    > {
        .success(HTTPResponse(status: status, headers: headers, body: Array(text.utf8)))
    }

    private let identifierBody =
        #"{"client_id":"5d06988ac50a44758ed0d9bff9edc4a0","client_secret":"s3cr3t-value-XYZ","client_secret_expires_a"#
        + #"t":1811020133,"grant_types":["SHARED_SECRET"],"registration_access_token":"eyJh.rat-value."#
        + #"sig","registration_client_uri":"https://southgate.example."#
        + #"test/api/agentmanagement/v3/register/5d06988ac50a44758ed0d9bff9edc4a0","token_endpoint_auth_m"#
        + #"ethod":"client_secret_jwt"}"#

    private func header(_ request: HTTPRequest, _ name: String) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    private func assertCorrelationID(_ request: HTTPRequest, file: StaticString = #filePath, line: UInt = #line) {
        let id = header(request, "Correlation-ID") ?? ""
        XCTAssertEqual(id.count, 32, file: file, line: line)
        XCTAssertTrue(id.allSatisfy { "0123456789abcdef".contains($0) }, id, file: file, line: line)
    }

    private func expectError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line)
        -> SouthgateError?
    {
        do {
            try body()
            XCTFail("no error", file: file, line: line)
        } catch let error as SouthgateError {
            return error
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: register

    /// GIVEN a SHARED_SECRET onboarding WHEN registering THEN one POST to /register with the IAT as Bearer, JSON
    /// headers, a 32-hex Correlation-ID and body `{}`; 201 gives the ClientIdentifier and server time.
    func testRegisterSharedSecret() throws {
        let transport = RecordingTransport(json(identifierBody, status: 201, headers: ["server-time": "1800000005"]))
        let exchange = try SouthgateClient(baseURL: base, transport: transport).register(
            initialAccessToken: "the.iat.jwt", publicKey: nil)
        let request = try XCTUnwrap(transport.requests.first)
        XCTAssertEqual(transport.requests.count, 1)
        XCTAssertEqual(request.method, .post)
        XCTAssertEqual(request.url, "https://southgate.example.test/api/agentmanagement/v3/register")
        XCTAssertEqual(header(request, "Authorization"), "Bearer the.iat.jwt")
        XCTAssertEqual(header(request, "Content-Type"), "application/json")
        assertCorrelationID(request)
        XCTAssertEqual(String(decoding: request.body, as: UTF8.self), "{}")
        XCTAssertEqual(
            exchange.value,
            ClientIdentifier(
                clientID: "5d06988ac50a44758ed0d9bff9edc4a0", clientSecret: "s3cr3t-value-XYZ",
                clientSecretExpiresAt: 1_811_020_133, registrationAccessToken: "eyJh.rat-value.sig",
                registrationClientURI: uri))
        XCTAssertEqual(exchange.serverTime, 1_800_000_005)
    }

    /// GIVEN an RSA_3072 onboarding WHEN registering THEN the body is the JWKS with e, n, kty, kid in MCL's order; no
    /// secret is required in the answer.
    func testRegisterRSASendsJWKS() throws {
        let rsaBody =
            #"{"client_id":"c1","registration_access_token":"rat","registration_client_uri":"https://southgate."#
            + #"example.test/api/agentmanagement/v3/register/c1","client_secret_expires_at":1811020133}"#
        let transport = RecordingTransport(json(rsaBody, status: 201))
        let exchange = try SouthgateClient(baseURL: base, transport: transport).register(
            initialAccessToken: "iat", publicKey: jwk)
        let body = String(decoding: try XCTUnwrap(transport.requests.first).body, as: UTF8.self)
        XCTAssertEqual(
            body,
            #"{"jwks":{"keys":"#
                + #"[{"e":"AQAB","n":"\#(jwk.n)","kty":"RSA","kid":"3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17"}]}}"#
        )
        XCTAssertNil(exchange.value.clientSecret)
        XCTAssertNil(exchange.serverTime)
    }

    /// GIVEN answers a broken or hostile server might send (a 2 MB secret, a client id with a newline, an URI with a
    /// space, a RAT beyond any JWS) WHEN registering THEN `.invalidResponse` naming the field, never the value.
    func testRegisterRefusesOversizedOrUnsafeFields() {
        let secret = String(repeating: "s", count: 2 << 20)
        let uri = "https://southgate.example.test/r/c1"
        let cases: [(String, String)] = [
            (
                #"{"client_id":"c1","client_secret":"\#(secret)","registration_access_token":"rat","#
                    + #""registration_client_uri":"\#(uri)"}"#, "client_secret"
            ),
            (
                #"{"client_id":"c1\nFAKE LOG LINE","client_secret":"s","registration_access_token":"rat","#
                    + #""registration_client_uri":"\#(uri)"}"#, "client_id"
            ),
            (
                #"{"client_id":"c1","client_secret":"s","registration_access_token":"rat","#
                    + #""registration_client_uri":"https://southgate.example.test/r/c1 x"}"#, "registration_client_uri"
            ),
            (
                #"{"client_id":"c1","client_secret":"s","registration_access_toke"#
                    + #"n":"\#(String(repeating: "r", count: 20_000))","#
                    + #""registration_client_uri":"\#(uri)"}"#, "registration_access_token"
            ),
        ]
        for (body, field) in cases {
            let error = expectError {
                _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json(body, status: 201)))
                    .register(initialAccessToken: "iat", publicKey: nil)
            }
            guard case .invalidResponse(let detail)? = error?.kind else {
                return XCTFail("\(field): \(String(describing: error))")
            }
            XCTAssertTrue(detail.contains(field), detail)
            XCTAssertLessThan(error!.description.count, 300, field)
        }
    }

    /// GIVEN an error body with control characters and 10 KB of text WHEN it is reported THEN the message has no
    /// control character and at most 300 characters and an ellipsis.
    func testServerMessageIsSanitised() {
        let long = String(repeating: "x", count: 10_000)
        let body = #"{"error":"invalid_client","error_description":"a\nFAKE\u001b[2Jb\#(long)"}"#
        let message = SouthgateClient.serverMessage(Array(body.utf8)) ?? ""
        XCTAssertFalse(message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, message)
        XCTAssertEqual(message.count, 301)
        XCTAssertTrue(message.hasPrefix("invalid_client: a?FAKE?[2Jb"), message)
    }

    /// GIVEN a SHARED_SECRET register WHEN the 201 lacks client_secret THEN `.invalidResponse`.
    func testRegisterSharedSecretRequiresSecret() {
        let body =
            #"{"client_id":"c1","registration_access_token":"rat","registration_client_uri":"https://southgate."#
            + #"example.test/r/c1"}"#
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json(body, status: 201))).register(
                initialAccessToken: "iat", publicKey: nil)
        }
        XCTAssertEqual(error?.kind, .invalidResponse("field client_secret is missing"))
    }

    /// GIVEN a register answered 200 instead of 201 WHEN handled THEN `.unexpectedStatus` (MCL refuses it too).
    func testRegister200IsUnexpected() {
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json(identifierBody, status: 200)))
                .register(initialAccessToken: "iat", publicKey: nil)
        }
        XCTAssertEqual(error?.kind, .unexpectedStatus)
        XCTAssertEqual(error?.status, 200)
        XCTAssertNil(error?.serverMessage, "a 2xx body holds credentials and is not quoted")
        XCTAssertEqual(error?.description, "register: unexpected HTTP status 200")
    }

    /// GIVEN a register refused with 401 and an IAM body WHEN handled THEN `.unauthorized` with the server's code and
    /// description.
    func testRegister401() {
        let body =
            #"{"id":"x","error":"token_validation_failed","error_description":"[6f7c7c836d3043b498b28a46d5f8a201]"}"#
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json(body, status: 401))).register(
                initialAccessToken: "iat", publicKey: nil)
        }
        XCTAssertEqual(error?.kind, .unauthorized)
        XCTAssertEqual(error?.serverMessage, "token_validation_failed: [6f7c7c836d3043b498b28a46d5f8a201]")
        XCTAssertEqual(error?.isRetryable, false)
    }

    /// GIVEN 201 answers with broken bodies that carry credentials WHEN they become errors THEN no description contains
    /// the secret or RAT.
    func testNoCredentialInErrorsFromBadSuccessBodies() {
        let bodies = [
            #"{"client_id":"c1","client_secret":"s3cr3t-value-XYZ","registration_access_token":"rat-value-ABC","regis"#
                + #"tration_client_uri":"http://insecure.example/r"}"#,
            #"{"client_id":"c1","client_secret":"s3cr3t-value-XYZ","registration_access_token":"rat-value-ABC"}"#,
            #"{"client_id":"c1","client_secret":"s3cr3t-value-XYZ","registration_access_token":"rat-value-ABC","regis"#
                + #"tration_client_uri":"https://x/r",}"#,
            #"["s3cr3t-value-XYZ","rat-value-ABC"]"#,
            #"{"client_secret":"s3cr3t-value-XYZ" "registration_access_token":"rat-value-ABC"}"#,
        ]
        for body in bodies {
            let error = expectError {
                _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json(body, status: 201))).register(
                    initialAccessToken: "iat", publicKey: nil)
            }
            guard let error else { continue }
            guard case .invalidResponse = error.kind else {
                XCTFail("\(error.kind)")
                continue
            }
            for credential in ["s3cr3t-value-XYZ", "rat-value-ABC"] {
                XCTAssertFalse(error.description.contains(credential), error.description)
                XCTAssertFalse(String(reflecting: error).contains(credential), body)
            }
        }
    }

    /// GIVEN a base URL with trailing slashes WHEN used THEN normalised: no `//api` on the wire.
    func testBaseURLTrailingSlashNormalised() throws {
        let transport = RecordingTransport(json(identifierBody, status: 201))
        let client = SouthgateClient(baseURL: base + "//", transport: transport)
        XCTAssertEqual(client.baseURL, base)
        _ = try client.register(initialAccessToken: "iat", publicKey: nil)
        XCTAssertEqual(transport.requests.first?.url, base + "/api/agentmanagement/v3/register")
    }

    /// GIVEN the transport fails WHEN calling THEN `.transport` with that error, retryable.
    func testTransportErrorMapsToTransport() {
        let failure = TransportError.timedOut(detail: "Operation timed out after 30000 milliseconds")
        let transport = RecordingTransport(.failure(failure))
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: transport).token(clientAssertion: "a.b.c")
        }
        XCTAssertEqual(error?.kind, .transport(failure))
        XCTAssertEqual(error?.operation, "token")
        XCTAssertEqual(error?.isRetryable, true)
        XCTAssertNil(error?.status)
    }

    // MARK: rotate

    /// GIVEN a rotation WHEN sent THEN a PUT to registration_client_uri verbatim, Bearer RAT, body `{"client_id":…}`;
    /// 200 is success.
    func testRotateSharedSecret() throws {
        let foreignURI =
            "https://southgate.example.test:8443/api/agentmanagement/v3/register/5d06988ac50a44758ed0d9bff9edc4a0?x=1"
        let transport = RecordingTransport(json(identifierBody, status: 200, headers: ["server-time": "1800000100"]))
        let exchange = try SouthgateClient(baseURL: base + "/", transport: transport)
            .rotate(
                registrationClientURI: foreignURI, registrationAccessToken: "rat-1",
                clientID: "5d06988ac50a44758ed0d9bff9edc4a0", publicKey: nil)
        let request = try XCTUnwrap(transport.requests.first)
        XCTAssertEqual(request.method, .put)
        XCTAssertEqual(request.url, foreignURI)
        XCTAssertEqual(header(request, "Authorization"), "Bearer rat-1")
        XCTAssertEqual(header(request, "Content-Type"), "application/json")
        assertCorrelationID(request)
        XCTAssertEqual(
            String(decoding: request.body, as: UTF8.self), #"{"client_id":"5d06988ac50a44758ed0d9bff9edc4a0"}"#)
        XCTAssertEqual(exchange.value.clientSecret, "s3cr3t-value-XYZ")
        XCTAssertEqual(exchange.serverTime, 1_800_000_100)
    }

    /// GIVEN an RSA rotation WHEN sent THEN the body adds the new key's JWKS after client_id.
    func testRotateRSAAddsJWKS() throws {
        let body =
            #"{"client_id":"c1","registration_access_token":"rat-2","registration_client_uri":"https://southgate."#
            + #"example.test/r/c1"}"#
        let transport = RecordingTransport(json(body, status: 200))
        _ = try SouthgateClient(baseURL: base, transport: transport).rotate(
            registrationClientURI: uri, registrationAccessToken: "rat-1", clientID: "c1", publicKey: jwk)
        XCTAssertEqual(
            String(decoding: try XCTUnwrap(transport.requests.first).body, as: UTF8.self),
            #"{"client_id":"c1","jwks":{"keys":[{"e":"AQAB","n":"\#(jwk.n)","kty":"RSA","kid":"\#(jwk.kid)"}]}}"#)
    }

    /// GIVEN a rotation answered 201 WHEN handled THEN `.unexpectedStatus`: exactly 200 is success.
    func testRotate201IsUnexpected() {
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json(identifierBody, status: 201)))
                .rotate(registrationClientURI: uri, registrationAccessToken: "rat", clientID: "c", publicKey: nil)
        }
        XCTAssertEqual(error?.kind, .unexpectedStatus)
        XCTAssertEqual(error?.status, 201)
    }

    // MARK: token

    /// GIVEN a client assertion WHEN a token is requested THEN a form POST with exactly the three fields,
    /// percent-encoded; 200 gives token, lifetime and Server-Time.
    func testTokenRequestForm() throws {
        let transport = RecordingTransport(
            json(
                #"{"access_token":"eyJ.access.token","token_type":"bearer","expires_in":3600,"scope":["mdsp:core:"#
                    + #"DefaultAgent"]}"#,
                status: 200, headers: ["server-time": "1800000042"]))
        let assertion = "eyJ0eXAi.eyJpc3Mi.sig+/=~ä"
        let exchange = try SouthgateClient(baseURL: base, transport: transport).token(clientAssertion: assertion)
        let request = try XCTUnwrap(transport.requests.first)
        XCTAssertEqual(request.method, .post)
        XCTAssertEqual(request.url, base + "/api/agentmanagement/v3/oauth/token")
        XCTAssertEqual(header(request, "Content-Type"), "application/x-www-form-urlencoded")
        XCTAssertNil(header(request, "Authorization"))
        assertCorrelationID(request)
        let pairs = String(decoding: request.body, as: UTF8.self).split(separator: "&").map(String.init)
        XCTAssertEqual(
            pairs,
            [
                "grant_type=client_credentials",
                "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
                "client_assertion=eyJ0eXAi.eyJpc3Mi.sig%2B%2F%3D%7E%C3%A4",
            ])
        XCTAssertEqual(exchange.value, AccessTokenGrant(accessToken: "eyJ.access.token", expiresIn: 3600))
        XCTAssertEqual(exchange.serverTime, 1_800_000_042)
    }

    /// GIVEN a token 400 with an IAM body and Server-Time WHEN handled THEN `.badRequest` with the server message and
    /// server time.
    func testToken400CarriesServerMessageAndTime() {
        let body =
            #"{"id":"a1","error":"invalid_client","error_description":"[feae1a0b] Client assertion is not valid."}"#
        let transport = RecordingTransport(
            json(body, status: 400, headers: ["server-time": " 1800003600 ", "date": "Fri, 15 Jan 2027 08:00:00 GMT"]))
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: transport).token(clientAssertion: "a.b.c")
        }
        XCTAssertEqual(error?.kind, .badRequest)
        XCTAssertEqual(error?.status, 400)
        XCTAssertEqual(error?.serverMessage, "invalid_client: [feae1a0b] Client assertion is not valid.")
        XCTAssertEqual(error?.serverTime, 1_800_003_600)
        XCTAssertEqual(
            error?.description,
            "token: rejected as a bad request (400): invalid_client: [feae1a0b] Client assertion is not valid.")
    }

    /// GIVEN no Server-Time but a Date header WHEN handled THEN the server time comes from Date.
    func testDateHeaderFallback() {
        let transport = RecordingTransport(
            json(#"{"message":"nope"}"#, status: 400, headers: ["date": "Fri, 15 Jan 2027 08:00:00 GMT"]))
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: transport).token(clientAssertion: "a.b.c")
        }
        XCTAssertEqual(error?.serverTime, 1_800_000_000)
        XCTAssertEqual(error?.serverMessage, "nope")
        XCTAssertEqual(HTTPDate.serverTime(["date": "Sat, 28 Nov 2026 01:40:44 GMT"]), 1_795_830_044)
        XCTAssertNil(HTTPDate.serverTime(["date": "Sunday, 06-Nov-94 08:49:37 GMT"]))
        XCTAssertNil(HTTPDate.serverTime(["server-time": "soon"]))
        XCTAssertEqual(
            HTTPDate.serverTime(["server-time": "0", "date": "Sat, 28 Nov 2026 01:40:44 GMT"]), 1_795_830_044)
    }

    /// GIVEN a 429 with Retry-After 7 WHEN handled THEN `.rateLimited` with retryAfter 7, retryable.
    func testRateLimitedRetryAfter() {
        let transport = RecordingTransport(
            json(#"{"error":"too_many_requests"}"#, status: 429, headers: ["retry-after": "7"]))
        let error = expectError {
            _ = try SouthgateClient(baseURL: base, transport: transport).register(
                initialAccessToken: "iat", publicKey: nil)
        }
        XCTAssertEqual(error?.kind, .rateLimited)
        XCTAssertEqual(error?.retryAfter, 7)
        XCTAssertEqual(error?.isRetryable, true)
        XCTAssertEqual(HTTPDate.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), 60)
        XCTAssertEqual(HTTPDate.retryAfter("86400"), 3600)
        XCTAssertNil(HTTPDate.retryAfter("-1"))
    }

    /// GIVEN numbers that `Double(_:)` reads but no server means (hex floats, inf, nan, exponents,
    /// signs, bare dots) WHEN read as Server-Time or Retry-After THEN they are ignored.
    func testSecondsAreDecimalDigitsOnly() {
        for text in [
            "0x1p31", "inf", "nan", "1.8e9", "+1800000000", "1800000000.", ".5", "1_800_000_000", "١٨٠٠٠٠٠٠٠٠",
        ] {
            XCTAssertNil(HTTPDate.decimalSeconds(text), text)
            XCTAssertNil(HTTPDate.serverTime(["server-time": text]), text)
            XCTAssertNil(HTTPDate.retryAfter(text), text)
        }
        XCTAssertEqual(HTTPDate.decimalSeconds("1800000000.25"), 1_800_000_000.25)
        XCTAssertEqual(HTTPDate.serverTime(["server-time": "1800000000.5"]), 1_800_000_000.5)
        XCTAssertEqual(HTTPDate.retryAfter("0"), 0)
    }

    /// GIVEN 500, 502 and 503 WHEN handled THEN `.serverError` with the status.
    func testServerErrors() {
        for status in [500, 502, 503] {
            let error = expectError {
                _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json("<html>", status: status)))
                    .token(clientAssertion: "a.b.c")
            }
            XCTAssertEqual(error?.kind, .serverError)
            XCTAssertEqual(error?.status, status)
            XCTAssertNil(error?.serverMessage)
            XCTAssertEqual(error?.description, "token: server error (\(status))")
        }
    }

    /// GIVEN each status the protocol names WHEN mapped THEN its named kind.
    func testStatusMapping() {
        let expected: [(Int, SouthgateError.Kind)] = [
            (400, .badRequest), (401, .unauthorized), (403, .forbidden), (404, .notFound),
            (412, .preconditionFailed), (429, .rateLimited), (500, .serverError), (599, .serverError),
            (200, .unexpectedStatus), (302, .unexpectedStatus), (409, .unexpectedStatus),
        ]
        for (status, kind) in expected {
            XCTAssertEqual(SouthgateClient.kind(for: status), kind, "\(status)")
        }
    }

    /// GIVEN a 200 token answer that is not JSON, or lacks fields WHEN handled THEN `.invalidResponse` naming the
    /// problem.
    func testInvalidTokenResponses() {
        let cases: [(String, SouthgateError.Kind)] = [
            ("not json", .invalidResponse("body is not JSON (1:1)")),
            (#"{"token_type":"bearer","expires_in":3600}"#, .invalidResponse("field access_token is missing")),
            (
                #"{"access_token":"t","expires_in":"3600"}"#,
                .invalidResponse("field expires_in is missing or not a positive integer")
            ),
            (
                #"{"access_token":"t","expires_in":0}"#,
                .invalidResponse("field expires_in is missing or not a positive integer")
            ),
        ]
        for (body, kind) in cases {
            let error = expectError {
                _ = try SouthgateClient(baseURL: base, transport: RecordingTransport(json(body, status: 200))).token(
                    clientAssertion: "a.b.c")
            }
            XCTAssertEqual(error?.kind, kind, body)
            XCTAssertEqual(error?.isRetryable, true, body)
        }
    }

    /// docs/protocol.md §7 (contested): a never-configured agent's GET answers 404, or 200 without
    /// configurationId; both mean "never configured".
    func testNeverConfiguredDataSourceConfigurationIsNilUnderBothReadings() throws {
        let answers: [Result<HTTPResponse, TransportError>] = [
            json(#"{"id":"x","message":"not found"}"#, status: 404),
            json(#"{"dataSources":[],"id":"d","eTag":"0"}"#, status: 200),
        ]
        for answer in answers {
            let client = SouthgateClient(baseURL: base, transport: RecordingTransport(answer))
            XCTAssertNil(try client.dataSourceConfiguration(agentID: "a", accessToken: "t").value)
        }
        let configured = SouthgateClient(
            baseURL: base,
            transport: RecordingTransport(
                json(#"{"configurationId":"c1","dataSources":[],"id":"d","eTag":"3"}"#, status: 200)))
        XCTAssertEqual(try configured.dataSourceConfiguration(agentID: "a", accessToken: "t").value?.eTag, "3")
        let refused = SouthgateClient(baseURL: base, transport: RecordingTransport(json("{}", status: 403)))
        XCTAssertThrowsError(try refused.dataSourceConfiguration(agentID: "a", accessToken: "t"))
    }
}
