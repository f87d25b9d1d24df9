import Dispatch
import Glibc
import Synchronization

/// `network.dns`: the southgate host resolves (getaddrinfo), within the network timeout.
/// Behind a proxy the proxy resolves it, so a local failure is then only told.
enum NetworkDNSCheck: HealthCheck {
    static let id = "network.dns"

    static func run(_ context: CheckContext) -> CheckResult {
        guard let southgate = context.southgate else { return CheckContext.noSouthgate }
        guard let endpoint = Endpoint(url: southgate.url) else {
            return .fail("no host in \(southgate.url) (from \(southgate.source))", fix: "download the boarding file again from Asset Manager")
        }
        let host = endpoint.host
        switch Resolver.resolve(host, port: endpoint.port, timeout: CheckContext.networkTimeout) {
        case .success(let addresses):
            let shown = addresses.prefix(4).joined(separator: ", ") + (addresses.count > 4 ? " and \(addresses.count - 4) more" : "")
            return .ok("\(host) resolves to \(shown)")
        case .failure(let error):
            if let proxy = context.proxy(for: host) {
                return .ok("\(host) does not resolve here (\(error)); not needed: requests go through the proxy \(proxy)")
            }
            return .fail("\(host) does not resolve: \(error)",
                         fix: "check the name servers (/etc/resolv.conf, `resolvectl status`) and the network; behind a proxy, set proxy in hubagent.conf")
        }
    }
}

/// getaddrinfo(3) with a deadline: it has none of its own, so it runs on another thread and is
/// abandoned if it does not answer in time (the process exits soon after anyway).
enum Resolver {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private final class Answer: Sendable {
        let value = Mutex<Result<[String], Failure>?>(nil)
    }

    static func resolve(_ host: String, port: Int, timeout: Double) -> Result<[String], Failure> {
        let answer = Answer()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let result = lookUp(host, port: port)
            answer.value.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else {
            return .failure(Failure(description: "no answer within \(Int(timeout)) s"))
        }
        return answer.value.withLock { $0 } ?? .failure(Failure(description: "no answer"))
    }

    /// The distinct addresses, in getaddrinfo's order. The corresponding C function is `getaddrinfo`.
    private static func lookUp(_ host: String, port: Int) -> Result<[String], Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            return .failure(Failure(description: reason))
        }
        defer { freeaddrinfo(list) }
        var addresses = [String]()
        var node = list
        while let entry = node {
            node = entry.pointee.ai_next
            guard let address = entry.pointee.ai_addr else { continue }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            let family = entry.pointee.ai_family
            let converted: UnsafePointer<CChar>?
            if family == AF_INET {
                converted = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin_addr
                    return inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
                }
            } else if family == AF_INET6 {
                converted = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
                }
            } else {
                continue
            }
            guard converted != nil else { continue }
            let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !addresses.contains(text) { addresses.append(text) }
        }
        return addresses.isEmpty ? .failure(Failure(description: "no addresses")) : .success(addresses)
    }
}
