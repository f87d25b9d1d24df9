import Crypto
import Platform
public import Southgate
import Synchronization

/// Performs what the lifecycle decides: southgate requests, key generation, durable writes.
/// Every call runs on the daemon's effects queue and returns the lifecycle event that reports
/// it; what to store, what to send and in which order comes from `CredentialTransaction` and the
/// lifecycle, never from here.
final class Effects: Sendable {
    private let store: StateStore
    private let clock: any WallClock
    private let logger: Logger
    /// Replaced on reload, from the work queue; read here for each request.
    private let transport: Mutex<any Transport>
    /// The parsed RSA key of the registration in use: parsing a PEM per token is waste.
    private let cachedKey = Mutex<(pem: SecretBytes, key: RSAPrivateKey)?>(nil)

    init(store: StateStore, clock: any WallClock, logger: Logger, transport: any Transport) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.transport = Mutex(transport)
    }

    func replaceTransport(_ newValue: any Transport) {
        transport.withLock { $0 = newValue }
    }

    private func client(_ baseURL: String) -> SouthgateClient {
        SouthgateClient(baseURL: baseURL, transport: transport.withLock { $0 })
    }

    // MARK: Storage

    func save(_ state: StoredState, attempts: Int = 3) -> Result<StoredState, Lifecycle.Failure> {
        var lastError: SystemError?
        for attempt in 1...attempts {
            do {
                return .success(try store.save(state))
            } catch {
                // fsync is never retried by itself: the whole replace is redone (docs/design.md §9).
                lastError = error
                logger.warning("storing state failed (attempt \(attempt) of \(attempts)): \(error)")
            }
        }
        return .failure(.storage(lastError!))
    }

    /// `.persist`: nothing waits for it; a failure is logged.
    func persist(_ state: StoredState) {
        do { try store.save(state) } catch { logger.error("storing state failed: \(error)") }
    }

    /// `.store`: one attempt; the lifecycle retries with backoff.
    func storeInUse(_ state: StoredState) -> Lifecycle.Event {
        switch save(state, attempts: 1) {
        case .success(let saved): .stored(saved, outcome: .success(()))
        case .failure(let failure): .stored(state, outcome: .failure(failure))
        }
    }

    // MARK: Credentials

    /// `.register`: onboarding with `boarding`.
    func register(_ boarding: BoardingConfiguration, stored: StoredState, serverClock: ServerClock) -> [Lifecycle.Event]
    {
        let prepared: CredentialTransaction
        do {
            prepared = try CredentialTransaction.onboarding(boarding, stored: stored, generateKey: Self.generateKey)
        } catch {
            return [.registered(stored: stored, outcome: .failure(Self.failure(error)))]
        }
        let (state, outcome, unstored) = perform(prepared, stored: stored, serverClock: serverClock)
        return [.registered(stored: state, outcome: outcome)]
            + (unstored.map { [.stored(state, outcome: .failure($0))] } ?? [])
    }

    /// `.rotate`: rotation authorized by `choice`.
    func rotate(using choice: Lifecycle.RegistrationChoice, stored: StoredState, serverClock: ServerClock) -> [Lifecycle
        .Event]
    {
        let prepared: CredentialTransaction
        do {
            prepared = try CredentialTransaction.rotation(choice, stored: stored, generateKey: Self.generateKey)
        } catch {
            return [.rotated(stored: stored, using: choice, outcome: .failure(Self.failure(error)))]
        }
        let (state, outcome, unstored) = perform(prepared, stored: stored, serverClock: serverClock)
        return [.rotated(stored: state, using: choice, outcome: outcome)]
            + (unstored.map { [.stored(state, outcome: .failure($0))] } ?? [])
    }

    /// Stores what must be durable first, sends, commits. Returns the state now in use, the
    /// outcome (the server's time on success), and why that state is not on disk when the
    /// server accepted the request but storing its answer failed.
    private func perform(_ prepared: CredentialTransaction, stored: StoredState, serverClock: ServerClock)
        -> (StoredState, Result<Double?, Lifecycle.Failure>, Lifecycle.Failure?)
    {
        var transaction = prepared
        if let first = transaction.storeFirst {
            switch save(first) {
            case .success(let saved): transaction = transaction.stored(as: saved)
            case .failure(let failure): return (stored, .failure(failure), nil)
            }
        }
        let exchange: Exchange<ClientIdentifier>
        do {
            exchange = try send(transaction.request)
        } catch let error as SouthgateError {
            return (transaction.base, .failure(.southgate(error)), nil)
        } catch {
            return (transaction.base, .failure(.crypto(error as? CryptoError ?? .invalidArgument("\(error)"))), nil)
        }
        let next = transaction.commit(
            exchange.value, issuedAt: exchange.serverTime ?? serverClock.serverTime(at: clock.now()).seconds)
        switch save(next) {
        case .success(let saved):
            return (saved, .success(exchange.serverTime), nil)
        case .failure(let failure):
            // The server consumed the IAT, or replaced the secret: these credentials are the
            // only ones that work. Use them from memory while the lifecycle retries storing
            // them. Should the process die first, the stored pending onboarding or in-progress
            // rotation repeats the request, which southgate still accepts for a rotation.
            return (next, .success(exchange.serverTime), failure)
        }
    }

    private func send(_ request: CredentialTransaction.Request) throws -> Exchange<ClientIdentifier> {
        let jwk = try request.key.map { pem in
            try RSAPrivateKey(pkcs8PEM: pem).publicKey.jwk(kid: try UUIDv4.random())
        }
        let southgate = client(request.baseURL)
        switch request.authorization {
        case .initialAccessToken(let iat):
            return try southgate.register(initialAccessToken: iat.exposed, publicKey: jwk)
        case .registrationAccessToken(let rat, let uri, let clientID):
            return try southgate.rotate(
                registrationClientURI: uri, registrationAccessToken: rat.exposed, clientID: clientID, publicKey: jwk)
        }
    }

    /// `.prepareKey`: the next rotation's key, generated and stored in idle time.
    func prepareKey(_ stored: StoredState) -> Lifecycle.Event {
        var state = stored
        do {
            state.identity?.pendingKeyPEM = try Self.generateKey()
        } catch {
            return .keyPrepared(stored: stored, outcome: .failure(.crypto(error)))
        }
        switch save(state) {
        case .success(let saved): return .keyPrepared(stored: saved, outcome: .success(()))
        case .failure(let failure): return .keyPrepared(stored: stored, outcome: .failure(failure))
        }
    }

    private static func generateKey() throws(CryptoError) -> SecretBytes {
        try RSAPrivateKey.generate(bits: RSAPrivateKey.minimumBits).pkcs8PEM()
    }

    private static func failure(_ error: CredentialTransaction.PreparationError) -> Lifecycle.Failure {
        switch error {
        case .noIdentity: .noIdentity
        case .keyGeneration(let cause): .crypto(cause)
        }
    }

    // MARK: Token

    /// `.fetchToken`: a client assertion signed with the credentials in use, times on the
    /// server's clock (docs/protocol.md §6.2).
    func fetchToken(_ identity: Identity, clockOffset: Double) -> Lifecycle.Event {
        do {
            let signer = try signer(for: identity)
            let issuedAt = Int64(ServerClock(offset: clockOffset).serverTime(at: clock.now()).seconds.rounded(.down))
            let assertion = try ClientAssertion.make(
                clientID: identity.clientID, tenant: identity.tenant, issuedAt: issuedAt,
                jti: try UUIDv4.random(), signer: signer)
            let exchange = try client(identity.baseURL).token(clientAssertion: assertion)
            return .tokenFetched(
                .success(
                    Lifecycle.TokenGrant(
                        value: Secret(exchange.value.accessToken),
                        expiresIn: Double(exchange.value.expiresIn),
                        serverTime: exchange.serverTime)))
        } catch let error as SouthgateError {
            return .tokenFetched(.failure(.southgate(error)))
        } catch let error as SignerError {
            return .tokenFetched(.failure(.credentials(error)))
        } catch {
            return .tokenFetched(.failure(.crypto(error as? CryptoError ?? .invalidArgument("\(error)"))))
        }
    }

    /// The identity's signer, with the RSA key parsed once per registration.
    private func signer(for identity: Identity) throws(SignerError) -> JWS.Signer {
        guard identity.profile == .rsa3072, let pem = identity.current.privateKeyPEM else {
            return try identity.makeSigner()
        }
        if let cached = cachedKey.withLock({ $0 }), cached.pem == pem {
            return try identity.makeSigner(parsedKey: cached.key)
        }
        let signer = try identity.makeSigner()
        if case .rs256(let key) = signer { cachedKey.withLock { $0 = (pem, key) } }
        return signer
    }

    // MARK: Data sources

    /// `.uploadDataSources`: PUT with the stored eTag; on 412 compare with the server's copy and
    /// overwrite it when it differs, because the file is the source of truth (docs/design.md §6).
    func uploadDataSources(
        _ dataSources: DataSourceConfiguration, identity: Identity, accessToken: Secret,
        stored: StoredState
    ) -> Lifecycle.Event {
        let southgate = client(identity.baseURL)
        let body = dataSources.canonicalJSON
        let agentID = identity.clientID
        var uploaded: StoredDataSourceConfiguration
        do {
            do {
                uploaded = try southgate.putDataSourceConfiguration(
                    agentID: agentID, accessToken: accessToken.exposed, body: body,
                    ifMatch: stored.dataSourceETag(for: agentID)
                ).value
            } catch  where error.kind == .preconditionFailed {
                let server = try southgate.dataSourceConfiguration(agentID: agentID, accessToken: accessToken.exposed)
                    .value
                if let server, DataSourceConfiguration.fromCanonicalJSON(server.json) == dataSources {
                    logger.info("the server's data source configuration already matches the file (eTag \(server.eTag))")
                    uploaded = server
                } else {
                    if let server {
                        logger.notice(
                            "the data source configuration was changed in Insights Hub (eTag \(server.eTag)); "
                                + "overwriting it with \(Layout.FileName.dataSources)"
                        )
                    } else {
                        logger.notice(
                            "Insights Hub has no data source configuration for this agent; uploading "
                                + Layout.FileName.dataSources
                        )
                    }
                    // Never configured on the server (404 or an empty answer): the first upload's "0".
                    let eTag = server?.eTag ?? "0"
                    uploaded = try southgate.putDataSourceConfiguration(
                        agentID: agentID, accessToken: accessToken.exposed,
                        body: body, ifMatch: eTag
                    ).value
                }
            }
        } catch {
            return .dataSourcesUploaded(stored: stored, outcome: .failure(.southgate(error)))
        }
        var state = stored
        state.dataSources = DataSourceRecord(
            clientID: agentID, contentHash: dataSources.contentHash,
            configurationID: dataSources.configurationID, eTag: uploaded.eTag,
            uploadedAt: clock.now())
        switch save(state) {
        case .success(let saved): return .dataSourcesUploaded(stored: saved, outcome: .success(()))
        case .failure(let failure): return .dataSourcesUploaded(stored: stored, outcome: .failure(failure))
        }
    }
}
