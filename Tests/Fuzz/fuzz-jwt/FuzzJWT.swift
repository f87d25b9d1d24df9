import Crypto
import JSON

/// JWS splitting, base64url and the claim reader. Checks that base64url round-trips, that a
/// parsed token re-encodes to one that parses to the same parts, and that claims written back
/// into a payload read back the same.
func fuzzJWT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let token = String(decoding: bytes, as: UTF8.self)
    checkBase64URL(bytes, token)
    checkJWS(token)
    checkClaims(token)
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

func checkBase64URL(_ bytes: [UInt8], _ text: String) {
    let encoded = Base64URL.encode(bytes)
    require(
        Base64URL.decode(encoded) == bytes,
        "encode then decode of \(bytes) gives \(String(describing: Base64URL.decode(encoded)))")
    require(
        encoded.utf8.count == (bytes.count * 4 + 2) / 3 && !encoded.contains("="),
        "encoding \(encoded) has the wrong length or padding")
    if let decoded = Base64URL.decode(text) {
        require(
            Base64URL.decode(Base64URL.encode(decoded)) == decoded,
            "decoded \(text.debugDescription) does not round-trip")
        // Padding and the standard alphabet are tolerated, not meaningful.
        let normalized = String(text.filter { $0 != "=" }.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
        require(Base64URL.decode(normalized) == decoded, "normalised \(text.debugDescription) decodes differently")
    }
}

func checkJWS(_ token: String) {
    guard let parsed = try? JWS.parse(token) else { return }
    require(token.utf8.count <= JWS.maximumTokenLength, "token of \(token.utf8.count) bytes accepted")
    require(!parsed.headerJSON.isEmpty, "empty header accepted")
    require(Array(token.utf8).starts(with: parsed.signingInput), "signing input is not a prefix of the token")
    require(parsed.signingInput.count(where: { $0 == UInt8(ascii: ".") }) == 1, "signing input does not hold one dot")
    let reencoded = [parsed.headerJSON, parsed.payloadJSON, parsed.signature].map { Base64URL.encode($0) }.joined(
        separator: ".")
    guard let again = try? JWS.parse(reencoded) else {
        // Re-encoding only drops padding, so it cannot outgrow the limit; kept as the one excuse.
        return require(reencoded.utf8.count > JWS.maximumTokenLength, "re-encoded token refused: \(reencoded)")
    }
    require(
        again.headerJSON == parsed.headerJSON && again.payloadJSON == parsed.payloadJSON
            && again.signature == parsed.signature,
        "re-encoded token parses to other parts")
    _ = parsed.algorithm
}

func checkClaims(_ token: String) {
    guard let claims = try? JWT.unverifiedClaims(of: token) else { return }
    var members: [(String, JSONValue)] = []
    func add(_ name: String, _ value: String?) { if let value { members.append((name, .string(value))) } }
    func add(_ name: String, _ value: [String]?) {
        if let value { members.append((name, .array(value.map(JSONValue.string)))) }
    }
    func add(_ name: String, _ value: Int64?) { if let value { members.append((name, .number(Double(value)))) } }
    add("iss", claims.iss)
    add("sub", claims.sub)
    add("aud", claims.aud)
    add("iat", claims.iat)
    add("nbf", claims.nbf)
    add("exp", claims.exp)
    add("jti", claims.jti)
    add("ten", claims.ten)
    add("schemas", claims.schemas)
    add("scope", claims.scope)
    let payload = JSONValue.object(members).serialized
    let rewritten = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
    do {
        let again = try JWT.unverifiedClaims(of: rewritten)
        require(again == claims, "claims written back read differently: \(payload)")
    } catch {
        require(rewritten.utf8.count > JWS.maximumTokenLength, "claims written back refused (\(error)): \(payload)")
    }
}
