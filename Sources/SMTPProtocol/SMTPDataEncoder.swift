// SMTPDataEncoder.swift — message content as it goes on the wire after DATA or BDAT.
//
// RFC 5321 §4.5.2: a line that starts with "." gets one more "."; the data ends with ".CRLF" on a
// line of its own. The receiver decides where lines start, and receivers differ on bare CR and bare
// LF, so every CR, LF and CRLF of the content is written as CRLF and stuffing is decided on those
// boundaries. A stray CR or LF in a stored message therefore never reaches the wire as something
// a receiver could read as the end of the data (SMTP smuggling, CVE-2023-51764 and relatives).

public import NIOCore

public enum SMTPDataEncoder {
    /// Appends `content` to `out` with line ends normalised to CRLF and, when `dotStuffing`,
    /// leading dots doubled and the terminating ".CRLF" written (DATA). For BDAT pass
    /// `dotStuffing: false`: line ends are normalised, nothing else changes.
    /// A final line without a line end gets CRLF.
    public static func encode(_ content: [UInt8], into out: inout ByteBuffer, dotStuffing: Bool) {
        out.reserveCapacity(minimumWritableBytes: content.count + content.count / 64 + 8)
        content.withUnsafeBufferPointer { buffer in
            let count = buffer.count
            var start = 0
            // Each turn starts at the beginning of a line and copies that line whole.
            while start < count {
                if dotStuffing && buffer[start] == UInt8(ascii: ".") { out.writeInteger(UInt8(ascii: ".")) }
                var end = start
                while end < count {
                    let byte = buffer[end]
                    if byte == 0x0D || byte == 0x0A { break }
                    end += 1
                }
                out.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[start..<end])))
                out.writeInteger(UInt16(0x0D0A))  // CRLF for CRLF, bare CR, bare LF, or the end
                if end < count && buffer[end] == 0x0D && end + 1 < count && buffer[end + 1] == 0x0A {
                    start = end + 2
                } else {
                    start = end + 1
                }
            }
        }
        if dotStuffing { out.writeInteger(UInt8(ascii: ".")); out.writeInteger(UInt16(0x0D0A)) }
    }

    /// `encode` for any collection of octets (copied to an array first).
    public static func encode(_ content: some Collection<UInt8>, into out: inout ByteBuffer, dotStuffing: Bool) {
        encode(Array(content), into: &out, dotStuffing: dotStuffing)
    }

    /// Whether the content has any octet above 127 (needs 8BITMIME, or conversion).
    public static func hasEightBit(_ content: [UInt8]) -> Bool {
        content.withUnsafeBytes { raw in
            let count = raw.count
            var i = 0
            while i + 8 <= count {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return true }
                i += 8
            }
            while i < count {
                if raw[i] >= 0x80 { return true }
                i += 1
            }
            return false
        }
    }
}
