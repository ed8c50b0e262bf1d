// QueueID.swift — queue identifiers: unique, sortable by arrival, safe as file names.
//
// 11 characters of time (microseconds since 1970 in base 32) and 5 random ones, from the alphabet
// 0-9 B-Z without vowels' look-alikes (like Postfix's long queue ids, `enable_long_queue_ids`).

public enum QueueID {
    static let alphabet = Array("0123456789BCDFGHJKLMNPQRSTVWXYZb".utf8)

    public static func make(microseconds: UInt64, random: UInt64) -> String {
        var out = [UInt8](repeating: 0, count: 16)
        var t = microseconds
        for i in stride(from: 10, through: 0, by: -1) {
            out[i] = alphabet[Int(t & 31)]
            t >>= 5
        }
        var r = random
        for i in 11..<16 {
            out[i] = alphabet[Int(r & 31)]
            r >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True for a string that could be a queue id: guards every path built from user input.
    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy { alphabet.contains($0) }
    }
}
