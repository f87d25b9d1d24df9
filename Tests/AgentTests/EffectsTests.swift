import Crypto
import Glibc
import JSON
import Southgate
import Synchronization
import XCTest

@testable import Agent
@testable import Platform

/// The effects performer against a real state directory and a scripted transport that looks at
/// the disk whenever a request leaves: what is durable before each request (docs/design.md §4
/// rule 5), what a lost answer repeats, and what happens when the disk refuses the answer.
final class EffectsTests: XCTestCase {
    private var root = ""
    private let t0 = Fixture.t0

    /// Answers from a script and records each request with the state on disk at that moment.
    final class DiskWatchingTransport: Transport, Sendable {
        private let store: StateStore
        private let state = Mutex<
            (seen: [(HTTPRequest, StoredState)], answers: [Result<HTTPResponse, TransportError>])
        >(([], []))

        init(store: StateStore, answers: [Result<HTTPResponse, TransportError>]) {
            self.store = store
            state.withLock { $0.answers = answers }
        }

        var seen: [(request: HTTPRequest, onDisk: StoredState)] { state.withLock { $0.seen.map { ($0.0, $0.1) } } }

        func script(_ answers: Result<HTTPResponse, TransportError>...) { state.withLock { $0.answers += answers } }

        func perform(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse {
            let onDisk = (try? store.load().state) ?? StoredState()
            let answer = state.withLock { state -> Result<HTTPResponse, TransportError> in
                state.seen.append((request, onDisk))
                return state.answers.isEmpty
                    ? .failure(.other(detail: "no scripted answer")) : state.answers.removeFirst()
            }
            return try answer.get()
        }
    }

    struct QuietSink: LogSink {
        func write(_ level: LogLevel, _ message: String) {}
    }

    struct FixedClock: WallClock {
        let time: Double
        func now() -> Double { time }
    }

    override func setUpWithError() throws {
        var template = Array("/tmp/hubagent-effects-XXXXXX".utf8CString)
        XCTAssertNotNil(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) })
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    override func tearDown() {
        Syscall.setFaultInjector(nil)
        TemporaryTree.remove(root)
        super.tearDown()
    }

    private func setUp(_ answers: Result<HTTPResponse, TransportError>...) throws -> (
        Effects, StateStore, DiskWatchingTransport
    ) {
        let store = StateStore(directory: try StateDirectory(path: root + "/state"))
        let transport = DiskWatchingTransport(store: store, answers: answers)
        let logger = Logger(minimum: .error, sink: QuietSink())
        return (
            Effects(store: store, clock: FixedClock(time: t0), logger: logger, transport: transport), store, transport
        )
    }

    private func identifier(status: Int, tag: String, secret: Bool) -> Result<HTTPResponse, TransportError> {
        var body =
            #"{"client_id":"\#(Fixture.clientID)","registration_access_token":"rat-\#(tag)","#
            + #""registration_client_uri":"\#(Fixture.registrationURI)","client_secret_expires_at":"#
            + #"\#(Int64(t0) + 86400)"#
        if secret { body += #","client_secret":"secret-\#(tag)""# }
        return .success(
            HTTPResponse(status: status, headers: ["server-time": "\(Int64(t0) + 7)"], body: Array((body + "}").utf8)))
    }

    private let lost = Result<HTTPResponse, TransportError>.failure(.connectionLost(detail: "reset by peer"))

    /// The JWK modulus in a register/rotate body.
    private func modulus(_ request: HTTPRequest) throws -> String {
        let json = try JSONValue.parse(request.body)
        return try XCTUnwrap(json["jwks"]?["keys"]?.arrayValue?.first?["n"]?.stringValue)
    }

    private func modulus(ofPEM pem: SecretBytes?) throws -> String {
        try RSAPrivateKey(pkcs8PEM: try XCTUnwrap(pem)).publicKey.jwk(kid: "k").n
    }

    /// GIVEN an RSA_3072 boarding file WHEN the register answer is lost and onboarding is repeated THEN both requests
    /// carried the key that was on disk when they left, the same key both times.
    func testRSAOnboardingKeyIsDurableBeforeEachRegister() throws {
        let (effects, store, transport) = try setUp(lost, identifier(status: 201, tag: "new", secret: false))
        let boarding = try Fixture.boarding(profile: .rsa3072)
        let first = effects.register(boarding, stored: StoredState(), serverClock: ServerClock())
        guard case .registered(let afterLoss, .failure(.southgate))? = first.first else { return XCTFail("\(first)") }
        let second = effects.register(boarding, stored: afterLoss, serverClock: ServerClock())
        guard case .registered(let onboarded, .success(let serverTime))? = second.first, second.count == 1 else {
            return XCTFail("\(second)")
        }
        XCTAssertEqual(serverTime, t0 + 7)

        let seen = transport.seen
        XCTAssertEqual(seen.count, 2)
        for (request, onDisk) in seen {
            XCTAssertEqual(
                try modulus(request), try modulus(ofPEM: onDisk.onboarding?.keyPEM),
                "the key was durable when its public half left")
        }
        XCTAssertEqual(try modulus(seen[0].request), try modulus(seen[1].request), "the repeat sends the same key")
        let loaded = try store.load().state
        XCTAssertEqual(loaded, onboarded)
        XCTAssertEqual(loaded.identity?.current.issuedAt, t0 + 7, "issued at the server's time")
        XCTAssertEqual(try modulus(ofPEM: loaded.identity?.current.privateKeyPEM), try modulus(seen[0].request))
        XCTAssertNil(loaded.onboarding)
    }

    /// GIVEN an onboarded identity WHEN a rotation's answer is lost and it is repeated THEN each PUT left with the
    /// in-progress marker on disk, both carried the same RAT, and the stored result rotates from it.
    func testRotationMarkerIsDurableBeforeEachPut() throws {
        let (effects, store, transport) = try setUp(lost, identifier(status: 200, tag: "rotated", secret: true))
        let identity = Fixture.identity()
        let initial = try store.save(Fixture.stored(identity, generation: 0))
        let first = effects.rotate(using: .current, stored: initial, serverClock: ServerClock())
        guard case .rotated(let afterLoss, .current, .failure)? = first.first else { return XCTFail("\(first)") }
        XCTAssertEqual(afterLoss.identity?.rotationInProgress, true)
        let second = effects.rotate(using: .current, stored: afterLoss, serverClock: ServerClock())
        guard case .rotated(let rotated, .current, .success)? = second.first else { return XCTFail("\(second)") }

        let seen = transport.seen
        XCTAssertEqual(seen.map(\.onDisk.identity?.rotationInProgress), [true, true])
        XCTAssertEqual(
            seen.map { $0.request.headers.first { $0.name == "Authorization" }?.value },
            ["Bearer rat-current", "Bearer rat-current"])
        XCTAssertEqual(seen[0].request.body, seen[1].request.body)
        XCTAssertEqual(try store.load().state, rotated)
        XCTAssertEqual(rotated.identity?.previous, identity.current)
        XCTAssertEqual(rotated.identity?.current.clientSecret, Secret("secret-rotated"))
        XCTAssertEqual(rotated.identity?.rotationInProgress, false)
    }

    /// GIVEN the disk refusing the marker WHEN a rotation is asked for THEN no PUT leaves and the failure says why.
    func testNoRequestLeavesWhenTheMarkerCannotBeStored() throws {
        let (effects, store, transport) = try setUp(identifier(status: 200, tag: "rotated", secret: true))
        let initial = try store.save(Fixture.stored(Fixture.identity(), generation: 0))
        Syscall.setFaultInjector { $0 == .rename ? ENOSPC : nil }
        let events = effects.rotate(using: .current, stored: initial, serverClock: ServerClock())
        guard case .rotated(let state, .current, .failure(.storage(let error)))? = events.first else {
            return XCTFail("\(events)")
        }
        XCTAssertEqual(error.errno, ENOSPC)
        XCTAssertEqual(state, initial)
        XCTAssertTrue(transport.seen.isEmpty)
    }

    /// GIVEN southgate accepting a registration WHEN the disk refuses its answer THEN the answer is reported in use
    /// (success) and unstored (a second event), so the lifecycle keeps it and retries.
    func testAcceptedButUnstoredAnswerIsKeptInUse() throws {
        let (effects, store, _) = try setUp(identifier(status: 201, tag: "new", secret: true))
        let boarding = try Fixture.boarding()
        let onDiskBefore = try store.save(StoredState())
        let renames = Mutex(0)
        Syscall.setFaultInjector { name in
            guard name == .rename else { return nil }
            // The pending onboarding is stored, the answer is not.
            return renames.withLock { count in
                count += 1
                return count > 1 ? ENOSPC : nil
            }
        }
        let events = effects.register(boarding, stored: onDiskBefore, serverClock: ServerClock())
        XCTAssertEqual(events.count, 2)
        guard case .registered(let inUse, .success)? = events.first,
            case .stored(let unstored, .failure(.storage))? = events.last
        else {
            return XCTFail("\(events)")
        }
        XCTAssertEqual(inUse, unstored)
        XCTAssertEqual(inUse.identity?.current.clientSecret, Secret("secret-new"))
        Syscall.setFaultInjector(nil)
        XCTAssertNil(try store.load().state.identity, "not on disk")
        guard case .stored(let saved, .success) = effects.storeInUse(inUse) else { return XCTFail("not stored") }
        XCTAssertEqual(try store.load().state, saved)
        XCTAssertEqual(saved.identity, inUse.identity)
    }
}
