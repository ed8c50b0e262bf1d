// DeliveryStatusNotification.swift — RFC 3464 delivery status notifications (bounces, delay
// warnings, success reports), and whether one may be sent at all (RFC 3461 §4.1, §6).
//
// What it does: `DeliveryStatusNotification` holds what the queue manager knows about a
// message and the recipients to report on; `compose(date:uniqueID:options:)` writes the
// notification as a complete RFC 5322 message: a multipart/report (RFC 6522) with three parts,
//   1. text/plain for people,
//   2. message/delivery-status: per-message fields, then one block per recipient
//      (RFC 3464 §2.2, §2.3),
//   3. the original: message/rfc822 (RET=FULL) or text/rfc822-headers (RET=HDRS),
// from `MAILER-DAEMON@<hostname>` to the original sender, to be sent with the null reverse-path
// (RFC 3461 §6.2, RFC 5321 §4.5.5) and marked `Auto-Submitted: auto-replied` (RFC 3834 §5).
// `mayNotify` and `recipientsToNotify` decide whether a notification is due: never to the null
// sender, and only for the events each recipient's NOTIFY asked for.
//
// Decisions (each a deliberate choice where the RFCs leave one):
//   - NOTIFY absent: FAILURE,DELAY (RFC 3461 §4.1 allows FAILURE or FAILURE,DELAY).
//   - RET absent: headers only (`Options.returnWhenUnspecified`). RFC 3461 §4.3 leaves it to the
//     MTA; Postfix returns the whole message. A security gateway bounces after acceptance, often to
//     forged senders, so returning only headers keeps backscatter small and never hands the
//     content (which may be malware, or mail for someone else) to a third party. The option
//     restores Postfix's behaviour.
//   - RET=FULL is honoured only when some recipient failed: RFC 3461 §4.3 says a DSN that
//     reports no failure should return headers only (delay warnings, success reports).
//   - The whole message is returned only up to `Options.returnSizeLimit` (1 MiB, as
//     `Defaults.Delivery.bounceReturnSize`); a larger one returns its headers.
//   - An original with 8-bit content is converted with `EightBitDowngrade` and returned as
//     7-bit message/rfc822, so that the notification itself never needs 8BITMIME. When its
//     header fields hold 8-bit data that cannot be converted: an SMTPUTF8 original (or one whose
//     header is UTF-8) is returned as message/global (RFC 6532 §3.7) with quoted-printable
//     encoding, anything else as headers only.
//   - Returned headers with 8-bit data: message/global-headers (RFC 6533 §6.3) when UTF-8,
//     otherwise text/rfc822-headers; both quoted-printable, so the notification stays 7-bit.
//   - A recipient address that is not ASCII is written as the `utf-8` address type in the
//     utf-8-addr-xtext form (RFC 6533 §3), so message/delivery-status stays ASCII; any other
//     non-ASCII character there (a remote reply in UTF-8) is written "?" (the human part keeps
//     it, in UTF-8). message/global-delivery-status (RFC 6533 §6.1) is not produced.
//   - ORCPT and ENVID arrive xtext-encoded (RFC 3461 §4.2, §4.4) and are written decoded
//     when the result is printable ASCII, as given otherwise.
//
// Diagnostics: nothing throws; inputs out of grammar are repaired (a malformed status becomes
// the generic code of the action's class, controls are removed, long fields are folded, an
// overlong word is cut at `Options.maxFieldLength`).
//
// Security notes: every value written into a header or a status field has CR, LF and other
// controls removed, so no input can add a field or a part. The boundary is checked against
// every part. The remote reply text (Diagnostic-Code) goes to the sender, as in every MTA; nothing
// of the local configuration does. Every line is CRLF-terminated and at most 998 octets.

public import MIME

/// A delivery status notification to compose (RFC 3464). Pure: no I/O, no clock.
public struct DeliveryStatusNotification: Sendable, Hashable {
    /// What happened to a recipient (RFC 3464 §2.3.3).
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case failed, delayed, delivered, relayed, expanded

        /// The NOTIFY keyword that asks for this action (RFC 3461 §4.1, §6.2).
        public var notifyCondition: Notify {
            switch self {
            case .failed: return .failure
            case .delayed: return .delay
            case .delivered, .relayed, .expanded: return .success
            }
        }
    }

    /// The DSN `RET` parameter (RFC 3461 §4.3).
    public enum Return: String, Sendable, Hashable {
        case full = "FULL"
        case headers = "HDRS"

        /// Parses a RET value (case-insensitive); nil if it is neither keyword.
        public init?(parameter: String) {
            switch parameter.uppercased() {
            case "FULL": self = .full
            case "HDRS": self = .headers
            default: return nil
            }
        }
    }

    /// The DSN `NOTIFY` parameter (RFC 3461 §4.1): the empty set is NEVER.
    public struct Notify: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let success = Notify(rawValue: 1)
        public static let failure = Notify(rawValue: 2)
        public static let delay = Notify(rawValue: 4)
        /// NOTIFY=NEVER.
        public static let never: Notify = []
        /// What applies when the sender gave no NOTIFY: FAILURE,DELAY (RFC 3461 §4.1).
        public static let unspecified: Notify = [.failure, .delay]

        /// Parses a NOTIFY value: "NEVER", or a comma-separated list of SUCCESS, FAILURE and
        /// DELAY (case-insensitive). Nil when malformed (NEVER combined with another, an unknown
        /// or repeated keyword, an empty item).
        public init?(parameter: String) {
            var set: Notify = []
            var sawNever = false
            let items = parameter.split(separator: ",", omittingEmptySubsequences: false)
            for item in items {
                let keyword: Notify
                switch item.uppercased() {
                case "NEVER":
                    sawNever = true
                    continue
                case "SUCCESS": keyword = .success
                case "FAILURE": keyword = .failure
                case "DELAY": keyword = .delay
                default: return nil
                }
                if set.contains(keyword) { return nil }
                set.insert(keyword)
            }
            if sawNever && (items.count != 1) { return nil }
            self = set
        }
    }

    /// One recipient to report on (RFC 3464 §2.3).
    public struct Recipient: Sendable, Hashable {
        /// The address the delivery was for (Final-Recipient), without angle brackets.
        public var finalRecipient: String
        /// The DSN `ORCPT` as given at RCPT (`rfc822;user@example.com`, xtext), or nil.
        public var originalRecipient: String?
        /// The DSN `NOTIFY` as given at RCPT, or nil (then FAILURE,DELAY).
        public var notify: String?
        public var action: Action
        /// RFC 3463 enhanced status code, e.g. "5.1.1".
        public var status: String
        /// The MTA that gave the status, as `dns; mx.example.net` (a bare host name gets `dns; `).
        public var remoteMTA: String?
        /// `smtp; 550 5.1.1 user unknown` (a value without a type gets `smtp; `).
        public var diagnosticCode: String?
        /// Seconds since 1970.
        public var lastAttemptDate: Int64?
        /// For `delayed`: when retries stop, seconds since 1970.
        public var willRetryUntil: Int64?

        public init(finalRecipient: String, originalRecipient: String? = nil, notify: String? = nil, action: Action,
                    status: String, remoteMTA: String? = nil, diagnosticCode: String? = nil,
                    lastAttemptDate: Int64? = nil, willRetryUntil: Int64? = nil) {
            self.finalRecipient = finalRecipient
            self.originalRecipient = originalRecipient
            self.notify = notify
            self.action = action
            self.status = status
            self.remoteMTA = remoteMTA
            self.diagnosticCode = diagnosticCode
            self.lastAttemptDate = lastAttemptDate
            self.willRetryUntil = willRetryUntil
        }
    }

    /// How the original was returned.
    public enum ReturnedContent: Sendable, Hashable {
        /// message/rfc822, as it was.
        case message
        /// message/rfc822, 8-bit bodies converted to quoted-printable (RFC 6152 downgrade).
        case convertedMessage
        /// message/global, quoted-printable (SMTPUTF8 or UTF-8 header).
        case globalMessage
        /// text/rfc822-headers.
        case headers
        /// message/global-headers, quoted-printable.
        case globalHeaders
    }

    /// Why only the headers were returned although RET=FULL applied.
    public enum HeadersOnlyReason: Sendable, Hashable {
        /// Larger than `Options.returnSizeLimit`.
        case tooLarge
        /// 8-bit data that could not be converted (or a downgrade limit).
        case unconvertible
        /// Lines over 998 octets or NUL octets.
        case notSevenBitClean
    }

    /// The bounds and choices of composing. The defaults are documented at the top of the file.
    public struct Options: Sendable, Hashable {
        /// Largest original returned whole; larger originals return their headers.
        ///
        /// Stops: bounces as an amplifier (a 50 MB message to many dead recipients sent back whole).
        public var returnSizeLimit = 1 << 20
        /// What is returned when the sender gave no RET.
        public var returnWhenUnspecified = Return.headers
        /// Longest value of one status field (Diagnostic-Code …) and of one returned header block
        /// used in the human part; longer values are cut.
        ///
        /// Stops: a remote reply of megabytes making the notification huge.
        public var maxFieldLength = 2_048
        /// How 8-bit originals are converted for RET=FULL.
        public var downgrade = EightBitDowngrade()

        public init() {}

        /// The defaults.
        public static let `default` = Options()
    }

    /// A composed notification and how to send it.
    public struct Composed: Sendable, Hashable {
        /// The message, CRLF lines of at most 998 octets.
        public var bytes: [UInt8]
        /// The reverse-path to send it with: always the null path (RFC 3461 §6.2).
        public var envelopeSender: String { "" }
        /// The forward-path: the original sender.
        public var envelopeRecipient: String
        /// What was returned of the original.
        public var returned: ReturnedContent
        /// Set when RET=FULL applied but only headers were returned.
        public var headersOnlyReason: HeadersOnlyReason?
        /// Whether the message holds non-ASCII header data (a UTF-8 sender address) and so needs
        /// SMTPUTF8 (RFC 6531); the body is always 7-bit.
        public var requiresSMTPUTF8: Bool
    }

    /// The Reporting-MTA, `dns; mx1.example.org` (a bare host name gets `dns; `).
    public var reportingMTA: String
    /// The host name for `MAILER-DAEMON@` and the Message-ID; nil: taken from `reportingMTA`.
    public var hostname: String?
    /// Received-From-MTA (RFC 3464 §2.2.4), e.g. `dns; client.example.com`, or nil.
    public var receivedFromMTA: String?
    /// When the original arrived, seconds since 1970.
    public var arrivalDate: Int64?
    /// The DSN `ENVID` as given at MAIL (xtext), or nil.
    public var envelopeID: String?
    /// The DSN `RET` as given at MAIL, or nil.
    public var returnContent: Return?
    /// The original reverse-path, without angle brackets; empty for the null sender.
    public var sender: String
    /// Whether the original came with SMTPUTF8.
    public var smtputf8: Bool
    public var recipients: [Recipient]
    /// The original message as queued.
    public var originalMessage: [UInt8]

    public init(reportingMTA: String, hostname: String? = nil, receivedFromMTA: String? = nil, arrivalDate: Int64? = nil,
                envelopeID: String? = nil, returnContent: Return? = nil, sender: String, smtputf8: Bool = false,
                recipients: [Recipient], originalMessage: [UInt8]) {
        self.reportingMTA = reportingMTA
        self.hostname = hostname
        self.receivedFromMTA = receivedFromMTA
        self.arrivalDate = arrivalDate
        self.envelopeID = envelopeID
        self.returnContent = returnContent
        self.sender = sender
        self.smtputf8 = smtputf8
        self.recipients = recipients
        self.originalMessage = originalMessage
    }

    // MARK: Whether to notify

    /// Whether a notification of `action` may go to `sender` for a recipient whose NOTIFY was
    /// `notify` (as given; nil: FAILURE,DELAY). Never to the null sender (RFC 5321 §4.5.5,
    /// RFC 3461 §6.2); a malformed NOTIFY counts as absent.
    public static func mayNotify(sender: String, notify: String?, action: Action) -> Bool {
        let path = sender.trimming(" <>")
        guard !path.isEmpty else { return false }
        let wanted = notify.flatMap { Notify(parameter: $0) } ?? .unspecified
        return wanted.contains(action.notifyCondition)
    }

    /// The recipients a notification from `sender` may report on (empty: send none).
    public static func recipientsToNotify(sender: String, _ recipients: [Recipient]) -> [Recipient] {
        recipients.filter { mayNotify(sender: sender, notify: $0.notify, action: $0.action) }
    }

    /// This notification with only the recipients it may report on, or nil when none is left.
    public func filteredForNotification() -> DeliveryStatusNotification? {
        var copy = self
        copy.recipients = Self.recipientsToNotify(sender: sender, recipients)
        return copy.recipients.isEmpty ? nil : copy
    }

    // MARK: Composing

    /// The kind of notice, by the most serious action reported.
    enum Kind { case failure, delay, success }

    var kind: Kind {
        if recipients.contains(where: { $0.action == .failed }) { return .failure }
        if recipients.contains(where: { $0.action == .delayed }) { return .delay }
        return .success
    }

    /// Composes the notification. `date` is now (seconds since 1970); `uniqueID` (e.g. the queue
    /// ID the notification gets) makes the Message-ID and the boundary unique. It does not check
    /// whether a notification is due: call `filteredForNotification()` first.
    public func compose(date: Int64, uniqueID: String, options: Options = .default) -> Composed {
        let host = String(Self.headerSafe(hostname ?? Self.untyped(reportingMTA)).filter { !$0.isWhitespace && $0 != "<" && $0 != ">" })
        let id = String(uniqueID.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })

        // Part 3 first: the human part says what was returned.
        let (returnedPart, returned, reason) = returnedContent(options)
        let textPart = humanPart(host: host, returned: returned)
        let statusPart = deliveryStatusPart(options)

        // A boundary that occurs in no part (RFC 2046 §5.1.1); bchars only, at most 70.
        let hostPart = String(host.filter { $0.isASCII && ($0.isLetter || $0.isNumber || ".-".contains($0)) }.prefix(20))
        let base = String((id.isEmpty ? "report" : id).prefix(30)) + "=" + String(date) + "/" + hostPart
        var boundary = base
        var n = 0
        while [textPart, statusPart, returnedPart].contains(where: { Self.contains($0, Array(("--" + boundary).utf8)) }) {
            n += 1
            boundary = base + "." + String(n)
        }

        let sender = Self.headerSafe(self.sender.trimming(" <>"))
        let subject: String
        switch kind {
        case .failure: subject = "Undelivered Mail Returned to Sender"
        case .delay: subject = "Delayed Mail (still being retried)"
        case .success: subject = "Successful Mail Delivery Report"
        }
        var out = [UInt8]()
        func line(_ s: String) { out += Array(s.utf8); out += crlf }
        line("From: Mail Delivery System <MAILER-DAEMON@\(host)>")
        line("To: \(sender)")
        line("Subject: \(subject)")
        line("Date: \(RFC5322Date.format(date))")
        line("Message-ID: <\(id.isEmpty ? String(date) : id).\(date)@\(host)>")
        line("Auto-Submitted: auto-replied")
        line("MIME-Version: 1.0")
        line("Content-Type: multipart/report; report-type=delivery-status;")
        line("\tboundary=\"\(boundary)\"")
        line("Content-Transfer-Encoding: 7bit")
        line("")
        line("This is a MIME-encapsulated message.")
        line("")
        for part in [textPart, statusPart, returnedPart] {
            line("--\(boundary)")
            out += part
            out += crlf
        }
        line("--\(boundary)--")
        return Composed(bytes: out, envelopeRecipient: sender, returned: returned, headersOnlyReason: reason,
                        requiresSMTPUTF8: sender.unicodeScalars.contains { !$0.isASCII })
    }

    // MARK: Parts

    /// Part 1: the explanation for people (ASCII unless an address or reply is not).
    func humanPart(host: String, returned: ReturnedContent) -> [UInt8] {
        let attached: String
        switch returned {
        case .message, .convertedMessage, .globalMessage: attached = "Your message is attached."
        case .headers, .globalHeaders: attached = "The header of your message is attached."
        }
        var text = "This is the mail system at host \(host).\n\n"
        switch kind {
        case .failure:
            text += "Your message could not be delivered to one or more recipients.\n"
            text += "The details are below. \(attached)\n"
        case .delay:
            text += "Your message has not been delivered yet to one or more recipients.\n"
            text += "The mail system keeps trying; you do not need to send it again.\n"
            text += "\(attached)\n"
            if let until = recipients.compactMap(\.willRetryUntil).max() {
                text += "It gives up after \(RFC5322Date.format(until)).\n"
            }
        case .success:
            text += "Your message was delivered to the recipients below, as you asked.\n"
            text += "\(attached)\n"
        }
        text += "\nIf you need help, write to the postmaster of \(host) and include this report.\n\n"
        for r in recipients {
            var entry = "<\(Self.headerSafe(r.finalRecipient))>: \(r.action.rawValue), status \(Self.validStatus(r.status, r.action))"
            if let mta = r.remoteMTA { entry += "; host \(Self.headerSafe(Self.untyped(mta)))" }
            if let code = r.diagnosticCode { entry += " said: \(Self.headerSafe(Self.untyped(code)))" }
            text += entry + "\n"
        }
        let body = Array(text.utf8)
        let clean = body.allSatisfy { $0 < 0x80 } && !text.split(separator: "\n").contains { $0.utf8.count > 998 }
        var part = Array("Content-Type: text/plain; charset=\(clean ? "us-ascii" : "utf-8")".utf8) + crlf
        part += Array("Content-Description: Notification".utf8) + crlf
        part += Array("Content-Transfer-Encoding: \(clean ? "7bit" : "quoted-printable")".utf8) + crlf + crlf
        part += clean ? Self.crlfLines(body) : QuotedPrintable.encode(body, lineBreak: crlf)
        return part
    }

    /// Part 2: message/delivery-status (RFC 3464 §2.1–2.3).
    func deliveryStatusPart(_ options: Options) -> [UInt8] {
        var fields = [UInt8]()
        // message/delivery-status is ASCII (RFC 3464 §2.1.1): addresses use the utf-8 type
        // (RFC 6533 §3); any other non-ASCII character (in a remote reply) becomes "?".
        func field(_ name: String, _ value: String) {
            let ascii = String(String.UnicodeScalarView(value.unicodeScalars.map { $0.isASCII ? $0 : "?" }))
            fields += Self.foldedField(name, ascii, max: options.maxFieldLength)
        }
        // Per-message fields (§2.2).
        if let envelopeID { field("Original-Envelope-Id", Self.decodedXText(envelopeID) ?? Self.headerSafe(envelopeID)) }
        field("Reporting-MTA", Self.typed(reportingMTA, default: "dns"))
        if let receivedFromMTA { field("Received-From-MTA", Self.typed(receivedFromMTA, default: "dns")) }
        if let arrivalDate { field("Arrival-Date", RFC5322Date.format(arrivalDate)) }
        // Per-recipient blocks (§2.3), each after an empty line.
        for r in recipients {
            fields += crlf
            if let orcpt = r.originalRecipient { field("Original-Recipient", Self.originalRecipientField(orcpt)) }
            field("Final-Recipient", Self.addressField(r.finalRecipient))
            field("Action", r.action.rawValue)
            field("Status", Self.validStatus(r.status, r.action))
            if let mta = r.remoteMTA { field("Remote-MTA", Self.typed(mta, default: "dns")) }
            if let code = r.diagnosticCode { field("Diagnostic-Code", Self.typed(code, default: "smtp")) }
            if let last = r.lastAttemptDate { field("Last-Attempt-Date", RFC5322Date.format(last)) }
            if r.action == .delayed, let until = r.willRetryUntil { field("Will-Retry-Until", RFC5322Date.format(until)) }
        }
        var part = Array("Content-Type: message/delivery-status".utf8) + crlf
        part += Array("Content-Description: Delivery report".utf8) + crlf + crlf
        part += fields
        // The part ends with its last field's CRLF; the delimiter's CRLF follows.
        return Array(part.dropLast(2))
    }

    /// Part 3: the original or its header.
    func returnedContent(_ options: Options) -> ([UInt8], ReturnedContent, HeadersOnlyReason?) {
        let wantsFull = (returnContent ?? options.returnWhenUnspecified) == .full && kind == .failure
        var reason: HeadersOnlyReason?
        if wantsFull {
            if originalMessage.count > options.returnSizeLimit {
                reason = .tooLarge
            } else if case let original = Self.crlfLines(originalMessage), Self.isSevenBitClean(original) {
                return (messagePart("message/rfc822", description: "Undelivered Message", original, encoding: "7bit"), .message, nil)
            } else if let converted = try? options.downgrade.downgrade(originalMessage), converted.isSevenBit,
                      case let bytes = Self.crlfLines(converted.bytes), Self.isSevenBitClean(bytes) {
                return (messagePart("message/rfc822", description: "Undelivered Message", bytes, encoding: "7bit"), .convertedMessage, nil)
            } else if !originalMessage.contains(0), smtputf8 || Self.isUTF8Header(headerBlock()) {
                let encoded = QuotedPrintable.encode(originalMessage, lineBreak: crlf)
                return (messagePart("message/global", description: "Undelivered Message", encoded, encoding: "quoted-printable"), .globalMessage, nil)
            } else {
                reason = originalMessage.contains { $0 >= 0x80 } ? .unconvertible : .notSevenBitClean
            }
        }
        var header = headerBlock()
        if header.count > options.returnSizeLimit { header = Self.cutAtLine(header, options.returnSizeLimit) }
        if Self.isSevenBitClean(header) {
            return (messagePart("text/rfc822-headers", description: "Undelivered Message Headers", header, encoding: "7bit"), .headers, reason)
        }
        let encoded = QuotedPrintable.encode(header, lineBreak: crlf)
        if Self.isUTF8Header(header) {
            return (messagePart("message/global-headers", description: "Undelivered Message Headers", encoded, encoding: "quoted-printable"), .globalHeaders, reason)
        }
        return (messagePart("text/rfc822-headers", description: "Undelivered Message Headers", encoded, encoding: "quoted-printable"), .headers, reason)
    }

    func messagePart(_ type: String, description: String, _ body: [UInt8], encoding: String) -> [UInt8] {
        var part = Array("Content-Type: \(type)".utf8) + crlf
        part += Array("Content-Description: \(description)".utf8) + crlf
        part += Array("Content-Transfer-Encoding: \(encoding)".utf8) + crlf + crlf
        // The body keeps its last CRLF: the delimiter brings its own (RFC 2046 §5.1.1).
        return part + body
    }

    /// The original's header block, each line CRLF-terminated, without the empty line after it.
    func headerBlock() -> [UInt8] {
        let m = originalMessage
        var i = 0
        while i < m.count {
            var e = i
            while e < m.count && m[e] != 10 { e += 1 }
            let content = e > i && m[e - 1] == 13 ? e - 1 : e
            if content == i { return Self.crlfLines(Array(m[0..<i])) }  // the empty line
            i = e + 1
        }
        return Self.crlfLines(m)
    }

    // MARK: Field values

    /// `value` with CR, LF, NUL and other controls (but tab) replaced by spaces.
    static func headerSafe(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for s in value.unicodeScalars {
            if (s.value < 32 && s != "\t") || s.value == 127 || (s.value >= 0x80 && s.value < 0xA0) {
                out.append(" ")
            } else {
                out.append(s)
            }
        }
        return String(out)
    }

    /// `type; value` (RFC 3464 §2.1.2): a value that has no `type;` gets `default`.
    static func typed(_ value: String, default type: String) -> String {
        let clean = headerSafe(value).trimming(" \t")
        if let semi = clean.firstIndex(of: ";") {
            let t = clean[..<semi]
            if !t.isEmpty && t.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
                return t.lowercased() + "; " + clean[clean.index(after: semi)...].trimming(" \t")
            }
        }
        return type + "; " + clean
    }

    /// The value after `type;`, or all of it.
    static func untyped(_ value: String) -> String {
        let t = typed(value, default: "x")
        return String(t[t.index(t.firstIndex(of: ";")!, offsetBy: 2)...])
    }

    /// An address as `rfc822; addr`, or `utf-8; addr` in utf-8-addr-xtext form (RFC 6533 §3)
    /// when it is not ASCII.
    static func addressField(_ address: String) -> String {
        let a = headerSafe(address).trimming(" <>")
        if a.unicodeScalars.allSatisfy(\.isASCII) { return "rfc822; " + a }
        return "utf-8; " + utf8AddrXText(a)
    }

    /// utf-8-addr-xtext (RFC 6533 §3): QCHAR = printable ASCII but "+", "=", "\"; every other
    /// character as EmbeddedUnicodeChar `\x{HEX}`.
    static func utf8AddrXText(_ address: String) -> String {
        var out = ""
        for s in address.unicodeScalars {
            if s.value > 0x20 && s.value < 0x7F && s != "+" && s != "=" && s != "\\" {
                out.unicodeScalars.append(s)
            } else {
                var hex = String(s.value, radix: 16, uppercase: true)
                if hex.count < 2 { hex = "0" + hex }
                out += "\\x{" + hex + "}"
            }
        }
        return out
    }

    /// The Original-Recipient value from an ORCPT parameter (`type;xtext`).
    static func originalRecipientField(_ orcpt: String) -> String {
        let clean = headerSafe(orcpt).trimming(" \t")
        guard let semi = clean.firstIndex(of: ";") else { return addressField(decodedXText(clean) ?? clean) }
        let type = clean[..<semi].lowercased()
        let raw = String(clean[clean.index(after: semi)...]).trimming(" \t")
        if type == "utf-8" { return "utf-8; " + raw }  // already utf-8-addr-xtext (RFC 6533 §3)
        return type + "; " + (decodedXText(raw) ?? raw)
    }

    /// Decodes xtext (RFC 3461 §4: "+" and two upper-case hex digits); nil when malformed or when
    /// the result is not printable ASCII.
    static func decodedXText(_ value: String) -> String? {
        let b = Array(value.utf8)
        var out = [UInt8]()
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            default: return nil
            }
        }
        while i < b.count {
            if b[i] == 43 {
                guard i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        guard out.allSatisfy({ $0 >= 32 && $0 < 127 }) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// `status` if it is an RFC 3463 code (class 2, 4 or 5 "." 1–3 digits "." 1–3 digits) whose
    /// class fits the action; otherwise the generic code of the action's class.
    static func validStatus(_ status: String, _ action: Action) -> String {
        let generic: String
        switch action {
        case .failed: generic = "5.0.0"
        case .delayed: generic = "4.0.0"
        case .delivered, .relayed, .expanded: generic = "2.0.0"
        }
        let parts = status.trimming(" \t").split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              parts[0] == generic.prefix(1) else { return generic }
        return parts.joined(separator: ".")
    }

    /// `Name: value` folded at white space into lines of at most 78 characters where possible
    /// (RFC 5322 §2.2.3; RFC 3464 §2.1.1 fields fold like header fields); a word longer than a
    /// line is cut into pieces of at most 900, and the value at `max` characters.
    static func foldedField(_ name: String, _ value: String, max: Int) -> [UInt8] {
        var v = Array(value.utf8)
        if v.count > max {
            v = Array(v[0..<max])
            while let last = v.last, last & 0xC0 == 0x80 { v.removeLast() }  // no cut UTF-8 character
            if let last = v.last, last >= 0xC0 { v.removeLast() }
        }
        var out = Array(name.utf8) + Array(":".utf8)
        var column = out.count
        var words: [[UInt8]] = []
        for w in v.split(separator: 32, omittingEmptySubsequences: true) {
            var rest = Array(w)
            while rest.count > 900 { words.append(Array(rest[0..<900])); rest = Array(rest[900...]) }
            words.append(rest)
        }
        for w in words {
            if column + 1 + w.count > 78 && column > name.utf8.count + 1 {
                out += [13, 10]
                column = 0
            }
            out.append(32)
            out += w
            column += 1 + w.count
        }
        return out + [13, 10]
    }

    // MARK: Bytes

    /// No octet ≥ 0x80 or NUL, CR and LF only as CRLF, no line over 998 octets (RFC 5322 §2.1.1).
    static func isSevenBitClean(_ bytes: [UInt8]) -> Bool {
        var column = 0
        for (i, c) in bytes.enumerated() {
            if c >= 0x80 || c == 0 { return false }
            if c == 13 {
                guard i + 1 < bytes.count, bytes[i + 1] == 10 else { return false }
                continue
            }
            if c == 10 {
                guard i > 0, bytes[i - 1] == 13 else { return false }
                column = 0
                continue
            }
            column += 1
            if column > 998 { return false }
        }
        return true
    }

    /// Whether `header` has 8-bit octets and they are UTF-8 (RFC 6532).
    static func isUTF8Header(_ header: [UInt8]) -> Bool {
        header.contains { $0 >= 0x80 } && String(validating: header, as: UTF8.self) != nil
    }

    /// `bytes` with every line ending (LF or CRLF) written CRLF, and a CRLF at the end.
    static func crlfLines(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + bytes.count / 40 + 2)
        for c in bytes {
            if c == 10 {
                if out.last != 13 { out.append(13) }
                out.append(10)
            } else {
                out.append(c)
            }
        }
        if out.last != 10 {
            if out.last == 13 { out.append(10) } else { out += [13, 10] }
        }
        return out
    }

    /// The first `limit` octets of `header`, cut after the last whole line.
    static func cutAtLine(_ header: [UInt8], _ limit: Int) -> [UInt8] {
        var end = min(limit, header.count)
        while end > 0 && header[end - 1] != 10 { end -= 1 }
        return Array(header[0..<end])
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= hay.count else { return false }
        var i = 0
        let last = hay.count - needle.count
        while i <= last {
            if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}

private let crlf: [UInt8] = [13, 10]

extension StringProtocol {
    /// The string without leading and trailing characters of `set`.
    func trimming(_ set: String) -> String {
        var s = Substring(String(self))
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// RFC 5322 §3.3 date-time in UTC, from seconds since 1970: `Mon, 23 Nov 2026 13:45:00 +0000`.
enum RFC5322Date {
    static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ seconds: Int64) -> String {
        let day = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - day * 86_400)
        let (y, m, d) = civil(fromDays: day)
        let weekday = days[Int(((day % 7) + 7) % 7)]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        return "\(weekday), \(d) \(months[m - 1]) \(y) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    /// Year, month, day of the proleptic Gregorian calendar for days since 1970-01-01
    /// (H. Hinnant's civil_from_days).
    static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
