import Southgate
import XCTest

@testable import Agent

/// The data source configuration in the lifecycle: upload only what differs from the last upload
/// for this identity, never a refused content again, never from an invalid file (docs/design.md §6).
final class LifecycleDataSourcesTests: XCTestCase {
    let t0 = Fixture.t0

    func configuration(unit: String = "°C") throws -> DataSourceConfiguration {
        let text = """
            configurationId: line-1
            dataSources:
              - name: Boiler
                dataPoints:
                  - name: Temperature
                    type: DOUBLE
                    unit: "\(unit)"
            """
        return try DataSourceConfiguration.parse(Array(text.utf8), file: "datasources.yaml")
    }

    /// An onboarded lifecycle holding a token, with `record` as the last upload.
    func onboarded(record: DataSourceRecord? = nil) -> (Lifecycle, StoredState) {
        var stored = Fixture.stored(Fixture.identity())
        stored.dataSources = record
        var lifecycle = Lifecycle()
        _ = lifecycle.step(.started(stored), now: t0)
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        return (lifecycle, stored)
    }

    func uploads(_ actions: [Lifecycle.Action]) -> [DataSourceConfiguration] {
        actions.compactMap {
            if case .uploadDataSources(let configuration, _, _, _) = $0 { configuration } else { nil }
        }
    }

    /// GIVEN an onboarded agent with a token and no record WHEN the file is read THEN it is uploaded with that token.
    func testFirstUpload() throws {
        var (lifecycle, _) = onboarded()
        let config = try configuration()
        let actions = lifecycle.step(.dataSourcesRead(.success(config)), now: t0 + 1)
        XCTAssertEqual(uploads(actions), [config])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2).network, [], "one upload at a time")
    }

    /// GIVEN a record of this content for this identity WHEN the file is read (a restart) THEN no upload.
    func testNoUploadWhenUnchanged() throws {
        let config = try configuration()
        var (lifecycle, _) = onboarded(
            record: DataSourceRecord(
                clientID: Fixture.clientID, contentHash: config.contentHash,
                configurationID: "line-1", eTag: "3", uploadedAt: t0 - 100))
        XCTAssertEqual(uploads(lifecycle.step(.dataSourcesRead(.success(config)), now: t0 + 1)), [])
    }

    /// GIVEN a record made for another agent WHEN the same content is read THEN it is uploaded, with eTag "0".
    func testNewIdentityUploadsAgain() throws {
        let config = try configuration()
        let record = DataSourceRecord(
            clientID: "another-agent", contentHash: config.contentHash, configurationID: "line-1", eTag: "3",
            uploadedAt: t0)
        var (lifecycle, stored) = onboarded(record: record)
        XCTAssertEqual(uploads(lifecycle.step(.dataSourcesRead(.success(config)), now: t0 + 1)), [config])
        XCTAssertEqual(stored.dataSourceETag(for: Fixture.clientID), "0")
        XCTAssertEqual(stored.dataSourceETag(for: "another-agent"), "3")
    }

    /// GIVEN southgate refuses the content with 400 WHEN time passes THEN it is not sent again, until the file changes.
    func testRefusedContentIsNotRetried() throws {
        var (lifecycle, stored) = onboarded()
        _ = lifecycle.step(.dataSourcesRead(.success(try configuration())), now: t0 + 1)
        let refusal = Fixture.refused(.badRequest, "upload data source configuration", status: 400)
        let actions = lifecycle.step(.dataSourcesUploaded(stored: stored, outcome: .failure(refusal)), now: t0 + 2)
        XCTAssertEqual(actions.logs(.error).count, 1)
        for later in [t0 + 3, t0 + 600, t0 + 1200] {
            XCTAssertEqual(uploads(lifecycle.step(.wakeUp, now: later)), [], "at \(later)")
        }
        let changed = try configuration(unit: "K")
        XCTAssertEqual(uploads(lifecycle.step(.dataSourcesRead(.success(changed)), now: t0 + 1201)), [changed])
    }

    /// GIVEN a configuration in force WHEN the file becomes invalid THEN the previous one stays and nothing is
    /// uploaded.
    func testInvalidFileKeepsThePreviousConfiguration() throws {
        var (lifecycle, stored) = onboarded()
        let config = try configuration()
        _ = lifecycle.step(.dataSourcesRead(.success(config)), now: t0 + 1)
        var uploaded = stored
        uploaded.dataSources = DataSourceRecord(
            clientID: Fixture.clientID, contentHash: config.contentHash, configurationID: "line-1", eTag: "1",
            uploadedAt: t0 + 1)
        _ = lifecycle.step(.dataSourcesUploaded(stored: uploaded, outcome: .success(())), now: t0 + 2)
        let error = ConfigurationError(file: "datasources.yaml", line: 7, column: 15, message: "unknown type \"FLOAT\"")
        let actions = lifecycle.step(.dataSourcesRead(.failure(error)), now: t0 + 3)
        XCTAssertEqual(lifecycle.dataSources.configuration, config)
        XCTAssertEqual(uploads(actions), [])
        XCTAssertTrue(actions.logs(.error).first?.contains("datasources.yaml:7:15") ?? false)
    }

    /// GIVEN an upload refused with 401 WHEN handled THEN the token is dropped and fetched again before a retry.
    func testUnauthorizedUploadRefreshesTheToken() throws {
        var (lifecycle, stored) = onboarded()
        _ = lifecycle.step(.dataSourcesRead(.success(try configuration())), now: t0 + 1)
        let refusal = Fixture.refused(.unauthorized, "upload data source configuration", status: 401)
        _ = lifecycle.step(.dataSourcesUploaded(stored: stored, outcome: .failure(refusal)), now: t0 + 2)
        XCTAssertNil(lifecycle.session.token)
        let retry = lifecycle.step(.wakeUp, now: t0 + 60)
        guard case .fetchToken? = retry.network.first else { return XCTFail("\(retry)") }
    }

    /// GIVEN a file WHEN it is not uploaded yet, uploaded, then changed THEN it is in force only while uploaded
    /// for this identity (docs/relay.md §2).
    func testInForceOnlyOnceUploadedForThisIdentity() throws {
        let config = try configuration()
        var (lifecycle, _) = onboarded()
        _ = lifecycle.step(.dataSourcesRead(.success(config)), now: t0 + 1)
        XCTAssertNil(lifecycle.dataSourcesInForce, "not uploaded yet")
        var uploaded = Fixture.stored(Fixture.identity())
        uploaded.dataSources = DataSourceRecord(
            clientID: Fixture.clientID, contentHash: config.contentHash, configurationID: "line-1", eTag: "1",
            uploadedAt: t0 + 2)
        _ = lifecycle.step(.dataSourcesUploaded(stored: uploaded, outcome: .success(())), now: t0 + 2)
        XCTAssertEqual(lifecycle.dataSourcesInForce, config)
        _ = lifecycle.step(.dataSourcesRead(.success(try configuration(unit: "K"))), now: t0 + 3)
        XCTAssertNil(lifecycle.dataSourcesInForce, "a changed file waits for its upload")
    }

    /// GIVEN a token the exchange refused WHEN told THEN the next decision fetches a new one; an older
    /// refused token changes nothing.
    func testRefusedTokenIsFetchedAgainOnce() throws {
        var (lifecycle, _) = onboarded()
        guard let token = lifecycle.session.token?.value else { return XCTFail("no token") }
        XCTAssertEqual(lifecycle.step(.tokenRefused(Secret("an older one")), now: t0 + 1).network, [])
        XCTAssertNotNil(lifecycle.session.token)
        let actions = lifecycle.step(.tokenRefused(token), now: t0 + 2)
        XCTAssertEqual(actions.network.count, 1)
        guard case .fetchToken? = actions.first(where: { if case .fetchToken = $0 { true } else { false } }) else {
            return XCTFail("\(actions)")
        }
    }
}
