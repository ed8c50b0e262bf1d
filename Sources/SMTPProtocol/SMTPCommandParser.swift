// SMTPCommandParser.swift — turns one command line (CRLF removed) into an `SMTPCommand`.
//
// The parser is pure and total: every input yields a command or a typed error, never a crash.
// Framing (CRLF, line length, NUL, bare CR/LF) is the line decoder's job (`SMTPLineDecoder`);
// by the time a line gets here it is a complete line of at most `Defaults.commandLineLength` bytes.
//
// Accepted on purpose (real-world deviations, each pinned by a test):
//   - verbs in any case; `MAIL FROM: <a@b>` with spaces after the colon; a path without angle
//     brackets when it has no spaces (Postfix's default, strict_rfc821_envelopes=no);
//   - `HELO`/`EHLO` arguments are taken as given (logged, never trusted).

import GatehouseCore

public enum SMTPCommandParser {
    /// Parses one command line. `smtputf8Allowed` says whether the server advertises SMTPUTF8: it
    /// governs whether UTF-8 may appear in paths (RFC 6531 §3.3) — the MAIL's own SMTPUTF8
    /// parameter is checked as well.
    public static func parse(_ bytes: some Collection<UInt8>, smtputf8Allowed: Bool = true) -> Result<SMTPCommand, SMTPCommandError> {
        guard let line = String(validating: bytes, as: UTF8.self) else {
            // Invalid UTF-8 is never a valid command.
            return .failure(.unrecognized)
        }
        let (verb, rest) = splitVerb(Substring(line))
        switch verb.uppercased() {
        case "EHLO":
            let argument = rest.trimmingSpaces
            guard !argument.isEmpty, !argument.contains(" ") else { return .failure(.syntax("EHLO hostname")) }
            return .success(.ehlo(String(argument)))
        case "HELO":
            let argument = rest.trimmingSpaces
            guard !argument.isEmpty else { return .failure(.syntax("HELO hostname")) }
            return .success(.helo(String(argument)))
        case "MAIL":
            return parseMail(rest, smtputf8Allowed: smtputf8Allowed)
        case "RCPT":
            return parseRcpt(rest, smtputf8Allowed: smtputf8Allowed)
        case "DATA":
            guard rest.trimmingSpaces.isEmpty else { return .failure(.syntax("DATA")) }
            return .success(.data)
        case "BDAT":
            return parseBDAT(rest)
        case "RSET":
            guard rest.trimmingSpaces.isEmpty else { return .failure(.syntax("RSET")) }
            return .success(.rset)
        case "NOOP":
            return .success(.noop)  // RFC 5321 §4.1.1.9: an argument is allowed and ignored
        case "QUIT":
            guard rest.trimmingSpaces.isEmpty else { return .failure(.syntax("QUIT")) }
            return .success(.quit)
        case "VRFY":
            let argument = rest.trimmingSpaces
            guard !argument.isEmpty else { return .failure(.syntax("VRFY address")) }
            return .success(.vrfy(String(argument)))
        case "EXPN":
            return .success(.expn(String(rest.trimmingSpaces)))
        case "HELP":
            return .success(.help)
        case "STARTTLS":
            guard rest.trimmingSpaces.isEmpty else { return .failure(.syntax("STARTTLS")) }
            return .success(.startTLS)
        case "AUTH":
            let parts = rest.trimmingSpaces.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 1 || parts.count == 2 else { return .failure(.syntax("AUTH mechanism [initial-response]")) }
            return .success(.auth(mechanism: parts[0].uppercased(), initialResponse: parts.count == 2 ? String(parts[1]) : nil))
        case "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML":
            return .failure(.notImplemented)
        default:
            return .failure(.unrecognized)
        }
    }

    private static func splitVerb(_ line: Substring) -> (Substring, Substring) {
        guard let space = line.firstIndex(of: " ") else { return (line, "") }
        return (line[..<space], line[line.index(after: space)...])
    }

    /// `MAIL FROM:<reverse-path> [SP Mail-parameters]` (RFC 5321 §4.1.1.2).
    static func parseMail(_ rest: Substring, smtputf8Allowed: Bool) -> Result<SMTPCommand, SMTPCommandError> {
        guard let (pathText, paramText) = splitPath(rest, keyword: "FROM:") else {
            return .failure(.syntax("MAIL FROM:<address>"))
        }
        var parameters = MailParameters()
        for (keyword, value) in splitParameters(paramText) {
            switch keyword {
            case "SIZE":
                // size-value = 1*20DIGIT (RFC 1870 §3); larger than we can count means "too big".
                guard let value, parameters.size == nil, !value.isEmpty, value.utf8.count <= 20,
                      value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    return .failure(.badParameter(keyword))
                }
                parameters.size = Int(value) ?? Int.max
            case "BODY":
                guard let value, parameters.body == nil, let body = BodyType(rawValue: value.uppercased()) else {
                    return .failure(.badParameter(keyword))
                }
                parameters.body = body
            case "SMTPUTF8":
                guard value == nil, smtputf8Allowed, !parameters.smtputf8 else { return .failure(.badParameter(keyword)) }
                parameters.smtputf8 = true
            case "RET":
                guard let value, let ret = DSNReturn(rawValue: value.uppercased()), parameters.ret == nil else {
                    return .failure(.badParameter(keyword))
                }
                parameters.ret = ret
            case "ENVID":
                guard let value, isXtext(value), value.utf8.count <= 100, parameters.envelopeID == nil else {
                    return .failure(.badParameter(keyword))
                }
                parameters.envelopeID = value
            case "AUTH":
                guard let value, parameters.auth == nil, value.utf8.count <= Defaults.parameterLength else {
                    return .failure(.badParameter(keyword))
                }
                parameters.auth = value
            case "":
                return .failure(.badParameter(keyword))
            default:
                return .failure(.unknownParameter(keyword))
            }
        }
        let allowUTF8 = smtputf8Allowed && parameters.smtputf8
        switch Result(catching: { () throws(AddressError) -> Path in
            try Path.parse(pathText, allowUTF8: allowUTF8, allowNull: true, allowPostmaster: false)
        }) {
        case .success(let path): return .success(.mail(path, parameters))
        case .failure(let error): return .failure(.badAddress(error, sender: true))
        }
    }

    /// `RCPT TO:<forward-path> [SP Rcpt-parameters]` (RFC 5321 §4.1.1.3). UTF-8 addresses are
    /// parsed here and checked against the transaction's SMTPUTF8 flag by the state machine.
    static func parseRcpt(_ rest: Substring, smtputf8Allowed: Bool) -> Result<SMTPCommand, SMTPCommandError> {
        guard let (pathText, paramText) = splitPath(rest, keyword: "TO:") else {
            return .failure(.syntax("RCPT TO:<address>"))
        }
        var parameters = RecipientParameters()
        for (keyword, value) in splitParameters(paramText) {
            switch keyword {
            case "NOTIFY":
                guard let value, parameters.notify == nil else { return .failure(.badParameter(keyword)) }
                var notify: DSNNotify = []
                for item in value.uppercased().split(separator: ",", omittingEmptySubsequences: false) {
                    switch item {
                    case "NEVER": notify.insert(.never)
                    case "SUCCESS": notify.insert(.success)
                    case "FAILURE": notify.insert(.failure)
                    case "DELAY": notify.insert(.delay)
                    default: return .failure(.badParameter(keyword))
                    }
                }
                // NEVER must stand alone (RFC 3461 §4.1).
                if notify.contains(.never), notify != .never { return .failure(.badParameter(keyword)) }
                parameters.notify = notify
            case "ORCPT":
                guard let value, value.utf8.count <= Defaults.parameterLength, parameters.originalRecipient == nil,
                      let semicolon = value.firstIndex(of: ";"), semicolon != value.startIndex else {
                    return .failure(.badParameter(keyword))
                }
                parameters.originalRecipient = value
            case "":
                return .failure(.badParameter(keyword))
            default:
                return .failure(.unknownParameter(keyword))
            }
        }
        switch Result(catching: { () throws(AddressError) -> Path in
            try Path.parse(pathText, allowUTF8: smtputf8Allowed, allowNull: false, allowPostmaster: true)
        }) {
        case .success(let path): return .success(.rcpt(path, parameters))
        case .failure(let error): return .failure(.badAddress(error, sender: false))
        }
    }

    /// `BDAT SP chunk-size [SP end-marker]` (RFC 3030 §2).
    static func parseBDAT(_ rest: Substring) -> Result<SMTPCommand, SMTPCommandError> {
        let parts = rest.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 1 || parts.count == 2, parts[0].count <= 18,
              parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), let size = Int(parts[0]) else {
            return .failure(.syntax("BDAT size [LAST]"))
        }
        if parts.count == 2 {
            guard parts[1].uppercased() == "LAST" else { return .failure(.syntax("BDAT size [LAST]")) }
            return .success(.bdat(size: size, last: true))
        }
        return .success(.bdat(size: size, last: false))
    }

    /// Splits `FROM:<path> params` into the path and the parameter text. The keyword is
    /// case-insensitive; spaces after the colon are tolerated.
    static func splitPath(_ rest: Substring, keyword: String) -> (Substring, Substring)? {
        guard rest.count >= keyword.count, rest.prefix(keyword.count).uppercased() == keyword else { return nil }
        var text = rest.dropFirst(keyword.count)
        while text.first == " " { text = text.dropFirst() }
        guard !text.isEmpty else { return nil }
        if text.first == "<" {
            // The path ends at the first '>' that is not inside a quoted string.
            var inQuotes = false
            var escaped = false
            var index = text.startIndex
            while index < text.endIndex {
                let ch = text[index]
                if escaped {
                    escaped = false
                } else if ch == "\\" && inQuotes {
                    escaped = true
                } else if ch == "\"" {
                    inQuotes.toggle()
                } else if ch == ">" && !inQuotes {
                    let end = text.index(after: index)
                    let params = text[end...]
                    guard params.isEmpty || params.first == " " else { return nil }
                    return (text[..<end], params)
                }
                index = text.index(after: index)
            }
            return nil
        }
        if let space = text.firstIndex(of: " ") {
            return (text[..<space], text[space...])
        }
        return (text, "")
    }

    /// `esmtp-param = esmtp-keyword ["=" esmtp-value]` separated by spaces (RFC 5321 §4.1.2).
    /// Keywords are returned upper-cased; an invalid keyword comes back as "".
    static func splitParameters(_ text: Substring) -> [(String, String?)] {
        var result: [(String, String?)] = []
        for item in text.split(separator: " ", omittingEmptySubsequences: true) {
            let keyword: Substring
            let value: Substring?
            if let equals = item.firstIndex(of: "=") {
                keyword = item[..<equals]
                value = item[item.index(after: equals)...]
            } else {
                keyword = item
                value = nil
            }
            let validKeyword = !keyword.isEmpty && keyword.utf8.count <= 64 && keyword.unicodeScalars.first.map { isAlnum($0) } == true
                && keyword.unicodeScalars.allSatisfy { isAlnum($0) || $0 == "-" }
            let validValue = value.map { v in
                !v.isEmpty && v.utf8.count <= Defaults.parameterLength
                    && v.unicodeScalars.allSatisfy { ($0.value >= 33 && $0.value <= 126 && $0 != "=") || $0.value >= 0x80 }
            } ?? true
            result.append((validKeyword && validValue ? keyword.uppercased() : "", value.map(String.init)))
        }
        return result
    }

    static func isAlnum(_ s: Unicode.Scalar) -> Bool {
        (s.value >= 0x30 && s.value <= 0x39) || (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
    }

    /// xtext (RFC 3461 §4): printable ASCII except `+` and `=`, or `+` followed by two upper-case hex digits.
    static func isXtext(_ value: String) -> Bool {
        var bytes = value.utf8.makeIterator()
        while let b = bytes.next() {
            if b == UInt8(ascii: "+") {
                guard let h1 = bytes.next(), let h2 = bytes.next(), isHexUpper(h1), isHexUpper(h2) else { return false }
            } else if b < 33 || b > 126 || b == UInt8(ascii: "=") {
                return false
            }
        }
        return true
    }

    static func isHexUpper(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
