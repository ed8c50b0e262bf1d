// AntiVirusVerdict.swift — what one scan of one message says, and what the policy does with it.
//
// Four outcomes, kept apart because mail needs them apart (DESIGN.md §4, §8):
//   clean        nothing found                          → deliver (other checks permitting)
//   infected     a signature matched                    → the policy's infected action (reject)
//   error        the scanner answered it cannot scan it → the policy's unscannable action
//                (too large, a scan error): asking again will most likely give the same answer
//   unavailable  no answer: scanner down, timeout,      → the policy's unavailable action,
//                protocol error                           tempfail (fail closed) by default
// Each message is scanned once, as one stream: clamd unpacks MIME and archives itself, and a scan
// that fails is not retried here (the tempfail makes the sending client retry later).

/// The result of scanning one message.
public enum AntiVirusVerdict: Hashable, Sendable, CustomStringConvertible {
    /// No signature matched.
    case clean
    /// These signatures matched.
    case infected(signatures: [String])
    /// The scanner answered but could not scan the message (clamd's reason, or "too large" when the
    /// message is over `ClamdConfiguration.maximumStreamSize` and was not sent).
    case error(String)
    /// No verdict could be had: the scanner is down, too slow or talking nonsense.
    case unavailable(ClamdClientError)

    init(_ result: ClamdScanResult) {
        switch result {
        case .clean: self = .clean
        case .infected(let signatures): self = .infected(signatures: signatures)
        case .error(let reason): self = .error(reason)
        }
    }

    public var description: String {
        switch self {
        case .clean: return "clean"
        case .infected(let signatures): return "infected (\(signatures.joined(separator: ", ")))"
        case .error(let reason): return "not scanned: \(reason)"
        case .unavailable(let reason): return "scanner unavailable: \(reason)"
        }
    }
}

/// What to do with a message, as far as the anti-virus verdict goes.
public enum AntiVirusAction: Hashable, Sendable {
    /// Let it through to the other checks and delivery.
    case deliver
    /// Refuse it in the session with a permanent error (5xx).
    case reject
    /// Refuse it in the session with a temporary error (4xx): the client tries again later.
    case tempfail
    /// Accept it and hold it in quarantine.
    case quarantine
}

/// The anti-virus part of the policy: an action for each verdict that is not clean.
public struct AntiVirusPolicy: Hashable, Sendable {
    /// For `.infected`.
    public var infected: AntiVirusAction
    /// For `.error`: clamd could not scan this message (too large, a scan error).
    public var unscannable: AntiVirusAction
    /// For `.unavailable`: no verdict now. Tempfail is failing closed: nothing unscanned gets in,
    /// and nothing is lost while the scanner is down (clients queue and retry).
    public var unavailable: AntiVirusAction

    /// The defaults fail closed: infected mail is rejected, and mail that could not be scanned is
    /// tempfailed, whether the scanner refused it or did not answer.
    public init(infected: AntiVirusAction = .reject, unscannable: AntiVirusAction = .tempfail,
                unavailable: AntiVirusAction = .tempfail) {
        self.infected = infected
        self.unscannable = unscannable
        self.unavailable = unavailable
    }

    /// The action for `verdict`.
    public func action(for verdict: AntiVirusVerdict) -> AntiVirusAction {
        switch verdict {
        case .clean: return .deliver
        case .infected: return infected
        case .error: return unscannable
        case .unavailable: return unavailable
        }
    }
}

/// A virus scanner: gives a verdict for a whole message. Never throws: every failure is a verdict.
public protocol AntiVirusScanner: Sendable {
    func scan(_ message: [UInt8]) async -> AntiVirusVerdict
}
