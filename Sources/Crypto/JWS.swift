import JSON

/// JSON Web Signature in compact serialization (RFC 7515 §7.1): `header.payload.signature`.
///
/// We write segments as unpadded base64url (RFC 7515 §2). We read tolerantly, because MCL pads its
/// segments and a documented sample uses the standard alphabet (docs/protocol.md §6.2); a signature is
/// then checked over the signing input exactly as received, never over a re-encoding.
public enum JWS {
    /// The largest token `parse` accepts. Our tokens (client assertion, IAT, RAT, access token)
    /// are a few KiB at most; the bound keeps hostile input from costing memory.
    public static let maximumTokenLength = 16 * 1024

    /// The key and algorithm a JWS is signed with (docs/protocol.md §6.2).
    public enum Signer: Sendable {
        /// HMAC-SHA256; for SHARED_SECRET the key is the UTF-8 bytes of the client secret.
        case hs256(key: SecretBytes)
        /// RSASSA-PKCS1-v1_5 with SHA-256; the RSA_3072 profile.
        case rs256(RSAPrivateKey)

        /// The JOSE `alg` value (RFC 7518 §3.1).
        public var algorithm: String {
            switch self {
            case .hs256: "HS256"
            case .rs256: "RS256"
            }
        }

        func signature(over signingInput: [UInt8]) throws(CryptoError) -> [UInt8] {
            switch self {
            case .hs256(let key): try HMACSHA256.authenticationCode(key: key, message: signingInput)
            case .rs256(let key): try key.sign(signingInput, digest: .sha256)
            }
        }
    }

    /// Signs `payload` under the protected header `header` (both JSON bytes, used verbatim) and
    /// returns the compact serialization. The header's `alg` must name the signer's algorithm.
    public static func sign(header: [UInt8], payload: [UInt8], with signer: Signer) throws(CryptoError) -> String {
        guard algorithm(ofHeader: header) == signer.algorithm else {
            throw .invalidArgument("the JWS header's \"alg\" is not \(signer.algorithm)")
        }
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let signature = try signer.signature(over: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The decoded parts of a compact JWS. Nothing is verified yet.
    public struct Parsed: Sendable, Equatable {
        public let headerJSON: [UInt8]
        public let payloadJSON: [UInt8]
        public let signature: [UInt8]
        /// `header.payload` as received (with any padding), the bytes the signature covers.
        public let signingInput: [UInt8]

        /// The header's `alg`, or nil when the header is not a JSON object with a string `alg`.
        public var algorithm: String? { JWS.algorithm(ofHeader: headerJSON) }

        // Verification: hubagent never verifies a JWS itself (southgate does); the tests check
        // our signatures with these, so they stay internal.

        /// True when the header says HS256 and the MAC over the received signing input matches,
        /// compared in constant time.
        func isValidHS256(key: SecretBytes) -> Bool {
            algorithm == "HS256" && HMACSHA256.isValid(signature, key: key, message: signingInput)
        }

        /// True when the header says RS256 and the signature verifies under `publicKey`.
        func isValidRS256(publicKey: RSAPublicKey) -> Bool {
            algorithm == "RS256" && publicKey.verify(signature: signature, message: signingInput, digest: .sha256)
        }
    }

    /// Splits and decodes a compact JWS. Accepts padded and standard-alphabet segments
    /// (docs/protocol.md §6.2); rejects more than `maximumTokenLength` bytes, a segment count other
    /// than three, an empty header and undecodable base64.
    public static func parse(_ token: String) throws(CryptoError) -> Parsed {
        let bytes = Array(token.utf8)
        guard bytes.count <= maximumTokenLength else {
            throw .malformedToken("\(bytes.count) bytes, more than the \(maximumTokenLength) accepted")
        }
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            throw .malformedToken("\(segments.count) segment(s); a compact JWS has 3")
        }
        let names = ["header", "payload", "signature"]
        var decoded: [[UInt8]] = []
        for (name, segment) in zip(names, segments) {
            guard let value = Base64URL.decode(String(decoding: segment, as: UTF8.self)) else {
                throw .malformedToken("the \(name) segment is not base64url")
            }
            decoded.append(value)
        }
        guard !decoded[0].isEmpty else { throw .malformedToken("the header segment is empty") }
        let signingInputLength = segments[0].count + 1 + segments[1].count
        return Parsed(
            headerJSON: decoded[0], payloadJSON: decoded[1], signature: decoded[2],
            signingInput: Array(bytes[..<signingInputLength]))
    }

    static func algorithm(ofHeader header: [UInt8]) -> String? {
        (try? JSONValue.parse(header))?["alg"]?.stringValue
    }
}
