import Agent
import Southgate

/// `clock.offset`: this gateway's clock against southgate's (`Server-Time`, else `Date`, of the
/// answer network.tls got). The agent corrects its assertions by the offset it learns, but an
/// offset this large also breaks TLS validity checks and the operator's logs.
enum ClockOffsetCheck: HealthCheck {
    static let id = "clock.offset"

    /// A minute is more than any NTP-synchronized clock drifts.
    static let warnAbove = 60.0
    /// Five minutes: the usual tolerance of token services for `iat`/`exp` (southgate's own is
    /// not documented, docs/protocol.md §10.3).
    static let failAbove = 300.0

    static func run(_ context: CheckContext) -> CheckResult {
        guard context.southgate != nil, let probe = context.probe else { return CheckContext.noSouthgate }
        guard case .success(let response) = probe.result else {
            return .skip("no answer from southgate (see network.tls)", fix: "fix network.tls first")
        }
        guard let server = serverTime(response.headers) else {
            return .skip(
                "southgate's answer had no usable Server-Time or Date header",
                fix: "check whether a proxy rewrites southgate's answers")
        }
        let local = (probe.sentAt + probe.receivedAt) / 2
        let offset = server - local
        let size = abs(offset)
        let fix =
            "synchronize this clock: `timedatectl set-ntp true` (systemd-timesyncd) or chrony, with an NTP server "
            + "reachable from here"
        // Date has whole seconds: below that, there is nothing to tell.
        guard size >= 1 else { return .ok("this clock agrees with southgate's (within the 1 s of its Date header)") }
        let text =
            "this clock is \(Format.duration(size)) \(offset > 0 ? "behind" : "ahead of") southgate's (southgate "
            + "\(Format.time(server)), here \(Format.time(local)))"
        if size > failAbove { return .fail(text, fix: fix) }
        if size > warnAbove { return .warn(text, fix: fix) }
        return .ok(text)
    }

    /// Server clock minus local clock, from the probe; nil without an answer that tells. The
    /// local moment the server stamped is taken as the middle of the exchange.
    static func offset(_ context: CheckContext) -> Double? {
        guard let probe = context.probe, case .success(let response) = probe.result,
            let server = serverTime(response.headers)
        else { return nil }
        return server - (probe.sentAt + probe.receivedAt) / 2
    }

    /// The server's clock as the daemon reads it (`HTTPDate.serverTime`: `Server-Time`, else
    /// `Date`). A whole-second stamp is taken as the middle of its second.
    static func serverTime(_ headers: [String: String]) -> Double? {
        HTTPDate.serverTime(headers).map { $0 == $0.rounded(.down) ? $0 + 0.5 : $0 }
    }
}
