import Crypto
import Glibc
import XCTest

@testable import Commands

/// A scratch directory, removed with everything in it at the end of the test.
final class ScratchDirectory {
    let path: String

    init() {
        var template = Array("/tmp/hubagent-commands-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit { _ = system("rm -rf '\(path)'") }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String, mode: mode_t = 0o644) -> String {
        let target = file(name)
        let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(target)")
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        chmod(target, mode)
        return target
    }

    func makeDirectory(_ name: String, mode: mode_t = 0o700) -> String {
        let target = file(name)
        mkdir(target, mode)
        chmod(target, mode)
        return target
    }
}

/// What a command printed and returned.
struct Run {
    var status: Int32
    var output: String
    var error: String
}

/// Runs `hubagent ARGUMENTS` in this process with standard output and error captured.
func hubagent(_ arguments: String...) -> Run {
    let scratch = ScratchDirectory()
    let outPath = scratch.file("stdout")
    let errPath = scratch.file("stderr")
    let savedOut = dup(1)
    let savedErr = dup(2)
    let out = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let err = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    dup2(out, 1)
    dup2(err, 2)
    let status = Command.dispatch(arguments)
    dup2(savedOut, 1)
    dup2(savedErr, 2)
    for fd in [out, err, savedOut, savedErr] { close(fd) }
    return Run(status: status, output: contents(outPath), error: contents(errPath))
}

func contents(_ path: String) -> String {
    guard let file = fopen(path, "r") else { return "" }
    defer { fclose(file) }
    var bytes = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count == 0 { break }
        bytes += buffer.prefix(count)
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A boarding file as Asset Manager issues it (SHARED_SECRET, a real HS256 IAT), for southgate
/// at `baseURL`.
func boardingJSON(
    baseURL: String = "https://southgate.example.test", expiration: String = "2099-01-01T00:00:00.000Z",
    iatExpiry: Int64 = 4_070_908_800
) throws -> String {
    let claims =
        #"{"iss":"https://southgate.example.test/api/agentmanagement/","sub":"gateway-1","jti":"iat-1","#
        + #""iat":1799990000,"exp":\#(iatExpiry)}"#
    let key = SecretBytes(try SecureRandom.bytes(32))
    let header = #"{"kid":"key-id-1","alg":"HS256","typ":"JWT"}"#
    let iat = try JWS.sign(header: Array(header.utf8), payload: Array(claims.utf8), with: .hs256(key: key))
    return """
        {"content": {"baseUrl": "\(baseURL)", "iat": "\(iat)", "clientCredentialProfile": ["SHARED_SECRET"],
         "clientId": "gateway-1", "tenant": "acme"}, "expiration": "\(expiration)"}
        """
}
