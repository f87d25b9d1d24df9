import Crypto
import XCTest

@testable import Agent

/// `Identity.makeSigner`: the one construction of the client assertion's signer.
final class SignerTests: XCTestCase {
    func testSharedSecretSignsWithTheClientSecret() throws {
        let signer = try Fixture.identity(profile: .sharedSecret).makeSigner()
        XCTAssertEqual(signer.algorithm, "HS256")
    }

    func testMissingParts() {
        var secretless = Fixture.identity(profile: .sharedSecret)
        secretless.current.clientSecret = nil
        XCTAssertThrowsError(try secretless.makeSigner()) { XCTAssertEqual($0 as? SignerError, .noClientSecret) }
        var keyless = Fixture.identity(profile: .rsa3072)
        keyless.current.privateKeyPEM = nil
        XCTAssertThrowsError(try keyless.makeSigner()) { XCTAssertEqual($0 as? SignerError, .noPrivateKey) }
    }

    /// The fixture's PEM is no key: the error says so, without the PEM.
    func testUnreadableKey() {
        XCTAssertThrowsError(try Fixture.identity(profile: .rsa3072).makeSigner()) { error in
            guard case .invalidKey? = error as? SignerError else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains("key-current"), "\(error)")
            XCTAssertTrue("\(error)".hasPrefix("the stored private key cannot be used: "), "\(error)")
        }
    }
}
