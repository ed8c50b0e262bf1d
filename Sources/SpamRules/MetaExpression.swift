// MetaExpression.swift — meta rules: expressions over other rules' results.
//
// Grammar (the subset of Perl expressions SpamAssassin's meta rules use, Perl's precedence;
// Mail::SpamAssassin::Conf, "meta SYMBOLIC_TEST_NAME boolean expression"):
//   or      := and *( "||" and )
//   and     := equal *( "&&" equal )
//   equal   := compare *( ( "==" / "!=" ) compare )
//   compare := sum *( ( "<" / ">" / "<=" / ">=" ) sum )
//   sum     := product *( ( "+" / "-" ) product )
//   product := unary *( ( "*" / "/" ) unary )
//   unary   := ( "!" / "-" ) unary / primary
//   primary := NAME / NUMBER / "(" or ")"
//   NAME    := ( ALPHA / "_" ) *( ALPHA / DIGIT / "_" )
//   NUMBER  := 1*DIGIT [ "." 1*DIGIT ]
// A rule's value is 1 if it hit, else 0; comparisons, `!`, `&&` and `||` give 1 or 0; the meta
// hits when its value is not 0. So `(A + B + C) > 1` is "at least two of A, B, C".
//
// Diagnostics: `MetaParseError` with the byte offset.
//
// Security notes: the text is never evaluated as code (SpamAssassin hands it to Perl's eval after
// checking the tokens); the parser's recursion is bounded by `RuleLimits.maxMetaDepth` and the
// expression size by `maxMetaTerms`, and evaluation runs a flat postfix program (no recursion).

/// A parsed meta expression.
public indirect enum MetaExpression: Sendable, Hashable, CustomStringConvertible {
    case rule(String)
    case number(Double)
    case not(MetaExpression)
    case negate(MetaExpression)
    case binary(MetaOperator, MetaExpression, MetaExpression)

    /// Every rule name the expression refers to, in order of first appearance.
    public var ruleNames: [String] {
        var names: [String] = []
        var seen = Set<String>()
        var stack = [self]
        while let e = stack.popLast() {
            switch e {
            case .rule(let n): if seen.insert(n).inserted { names.append(n) }
            case .number: break
            case .not(let x), .negate(let x): stack.append(x)
            case .binary(_, let l, let r): stack.append(r); stack.append(l)
            }
        }
        return names
    }

    public var description: String {
        switch self {
        case .rule(let n): return n
        case .number(let v): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
        case .not(let x): return "!" + x.description
        case .negate(let x): return "-" + x.description
        case .binary(let op, let l, let r): return "(\(l) \(op.rawValue) \(r))"
        }
    }

    /// Parses `text`.
    public static func parse(_ text: String, limits: RuleLimits = .default) throws(MetaParseError) -> MetaExpression {
        var parser = MetaParser(bytes: Array(text.utf8), limits: limits)
        return try parser.parseAll()
    }
}

/// Binary operators, by Perl's spelling.
public enum MetaOperator: String, Sendable, Hashable {
    case or = "||", and = "&&"
    case equal = "==", notEqual = "!="
    case less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
    case plus = "+", minus = "-", times = "*", divide = "/"

    func apply(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .or: return (a != 0 || b != 0) ? 1 : 0
        case .and: return (a != 0 && b != 0) ? 1 : 0
        case .equal: return a == b ? 1 : 0
        case .notEqual: return a != b ? 1 : 0
        case .less: return a < b ? 1 : 0
        case .greater: return a > b ? 1 : 0
        case .lessOrEqual: return a <= b ? 1 : 0
        case .greaterOrEqual: return a >= b ? 1 : 0
        case .plus: return a + b
        case .minus: return a - b
        case .times: return a * b
        case .divide: return b == 0 ? 0 : a / b  // Perl dies on division by zero; a meta just gets 0.
        }
    }
}

/// A meta expression that could not be read.
public struct MetaParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case empty
        case unexpectedCharacter(String)
        case unexpectedEnd
        case unexpectedToken(String)
        case missingClosingParenthesis
        case tooDeep(limit: Int)
        case tooManyTerms(limit: Int)
    }

    public var reason: Reason
    /// Byte offset in the expression.
    public var offset: Int

    public var description: String {
        switch reason {
        case .empty: return "empty expression"
        case .unexpectedCharacter(let c): return "unexpected character '\(c)' at offset \(offset)"
        case .unexpectedEnd: return "unexpected end of expression"
        case .unexpectedToken(let t): return "unexpected '\(t)' at offset \(offset)"
        case .missingClosingParenthesis: return "missing ')' at offset \(offset)"
        case .tooDeep(let l): return "nested deeper than \(l) at offset \(offset)"
        case .tooManyTerms(let l): return "more than \(l) terms"
        }
    }
}

/// Recursive-descent parser over tokens, depth-bounded.
struct MetaParser {
    enum Token: Equatable {
        case name(String), number(Double), op(String), open, close, end
        var text: String {
            switch self {
            case .name(let n): return n
            case .number(let v): return String(v)
            case .op(let o): return o
            case .open: return "("
            case .close: return ")"
            case .end: return "end"
            }
        }
    }

    let bytes: [UInt8]
    let limits: RuleLimits
    var position = 0
    var token: Token = .end
    var tokenOffset = 0
    var depth = 0
    var terms = 0

    init(bytes: [UInt8], limits: RuleLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func parseAll() throws(MetaParseError) -> MetaExpression {
        try advance()
        if token == .end { throw MetaParseError(reason: .empty, offset: 0) }
        let e = try parseBinary(level: 0)
        guard token == .end else { throw MetaParseError(reason: .unexpectedToken(token.text), offset: tokenOffset) }
        return e
    }

    /// Operators by level, lowest precedence first.
    static let levels: [[MetaOperator]] = [
        [.or], [.and], [.equal, .notEqual], [.less, .greater, .lessOrEqual, .greaterOrEqual], [.plus, .minus], [.times, .divide],
    ]

    mutating func parseBinary(level: Int) throws(MetaParseError) -> MetaExpression {
        if level == MetaParser.levels.count { return try parseUnary() }
        var left = try parseBinary(level: level + 1)
        while case .op(let o) = token, let op = MetaOperator(rawValue: o), MetaParser.levels[level].contains(op) {
            try count()
            try advance()
            let right = try parseBinary(level: level + 1)
            left = .binary(op, left, right)
        }
        return left
    }

    mutating func parseUnary() throws(MetaParseError) -> MetaExpression {
        try enter()
        defer { depth -= 1 }
        switch token {
        case .op("!"):
            try count()
            try advance()
            return .not(try parseUnary())
        case .op("-"):
            try count()
            try advance()
            return .negate(try parseUnary())
        case .name(let n):
            try count()
            try advance()
            return .rule(n)
        case .number(let v):
            try count()
            try advance()
            return .number(v)
        case .open:
            let at = tokenOffset
            try advance()
            let e = try parseBinary(level: 0)
            guard token == .close else {
                if token == .end { throw MetaParseError(reason: .missingClosingParenthesis, offset: at) }
                throw MetaParseError(reason: .unexpectedToken(token.text), offset: tokenOffset)
            }
            try advance()
            return e
        case .end:
            throw MetaParseError(reason: .unexpectedEnd, offset: tokenOffset)
        default:
            throw MetaParseError(reason: .unexpectedToken(token.text), offset: tokenOffset)
        }
    }

    mutating func enter() throws(MetaParseError) {
        depth += 1
        if depth > limits.maxMetaDepth { throw MetaParseError(reason: .tooDeep(limit: limits.maxMetaDepth), offset: tokenOffset) }
    }

    mutating func count() throws(MetaParseError) {
        terms += 1
        if terms > limits.maxMetaTerms { throw MetaParseError(reason: .tooManyTerms(limit: limits.maxMetaTerms), offset: tokenOffset) }
    }

    static func isNameStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
    static func isNameByte(_ c: UInt8) -> Bool { isNameStart(c) || (c >= 48 && c <= 57) }

    mutating func advance() throws(MetaParseError) {
        while position < bytes.count, bytes[position] == 32 || bytes[position] == 9 || bytes[position] == 10 || bytes[position] == 13 {
            position += 1
        }
        tokenOffset = position
        guard position < bytes.count else {
            token = .end
            return
        }
        let c = bytes[position]
        if MetaParser.isNameStart(c) {
            var end = position
            while end < bytes.count, MetaParser.isNameByte(bytes[end]) { end += 1 }
            token = .name(String(decoding: bytes[position..<end], as: UTF8.self))
            position = end
            return
        }
        if c >= 48 && c <= 57 {
            var end = position
            while end < bytes.count, bytes[end] >= 48 && bytes[end] <= 57 { end += 1 }
            if end + 1 < bytes.count, bytes[end] == 46, bytes[end + 1] >= 48 && bytes[end + 1] <= 57 {
                end += 1
                while end < bytes.count, bytes[end] >= 48 && bytes[end] <= 57 { end += 1 }
            }
            let text = String(decoding: bytes[position..<end], as: UTF8.self)
            token = .number(Double(text) ?? 0)
            position = end
            return
        }
        let next: UInt8 = position + 1 < bytes.count ? bytes[position + 1] : 0
        switch (c, next) {
        case (38, 38): token = .op("&&"); position += 2  // &&
        case (124, 124): token = .op("||"); position += 2  // ||
        case (61, 61): token = .op("=="); position += 2
        case (33, 61): token = .op("!="); position += 2
        case (60, 61): token = .op("<="); position += 2
        case (62, 61): token = .op(">="); position += 2
        case (33, _), (60, _), (62, _), (43, _), (45, _), (42, _), (47, _):
            token = .op(String(UnicodeScalar(c)))
            position += 1
        case (40, _): token = .open; position += 1
        case (41, _): token = .close; position += 1
        default:
            let scalar = String(decoding: bytes[position..<min(bytes.count, position + 1)], as: UTF8.self)
            throw MetaParseError(reason: .unexpectedCharacter(c < 0x80 ? scalar : String(format: c)), offset: position)
        }
    }
}

private extension String {
    /// "0xNN" for a byte that is not ASCII.
    init(format byte: UInt8) {
        let digits = Array("0123456789ABCDEF")
        self = "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }
}

/// A meta expression compiled to a postfix program over rule indices.
struct MetaProgram: Sendable {
    enum Op: Sendable {
        case value(Int)
        case constant(Double)
        case not
        case negate
        case binary(MetaOperator)
    }

    let ops: [Op]
    /// Indices of the rules the expression refers to.
    let references: [Int]

    /// Compiles `expression`; `resolve` maps a name to a rule index.
    init(_ expression: MetaExpression, resolve: (String) -> Int) {
        var ops: [Op] = []
        // Iterative post-order walk (the tree depth is bounded, but this needs no stack frames).
        enum Step { case visit(MetaExpression), emit(Op) }
        var stack: [Step] = [.visit(expression)]
        var refs = Set<Int>()
        while let step = stack.popLast() {
            switch step {
            case .emit(let op): ops.append(op)
            case .visit(let e):
                switch e {
                case .rule(let n):
                    let k = resolve(n)
                    refs.insert(k)
                    ops.append(.value(k))
                case .number(let v): ops.append(.constant(v))
                case .not(let x): stack.append(.emit(.not)); stack.append(.visit(x))
                case .negate(let x): stack.append(.emit(.negate)); stack.append(.visit(x))
                case .binary(let op, let l, let r):
                    stack.append(.emit(.binary(op)))
                    stack.append(.visit(r))
                    stack.append(.visit(l))
                }
            }
        }
        self.ops = ops
        references = refs.sorted()
    }

    /// The value of the expression given each rule's value.
    func evaluate(_ values: UnsafeBufferPointer<Double>, stack: inout [Double]) -> Double {
        stack.removeAll(keepingCapacity: true)
        for op in ops {
            switch op {
            case .value(let k): stack.append(values[k])
            case .constant(let v): stack.append(v)
            case .not: stack[stack.count - 1] = stack[stack.count - 1] == 0 ? 1 : 0
            case .negate: stack[stack.count - 1] = -stack[stack.count - 1]
            case .binary(let op):
                let b = stack.removeLast()
                stack[stack.count - 1] = op.apply(stack[stack.count - 1], b)
            }
        }
        return stack.last ?? 0
    }
}
