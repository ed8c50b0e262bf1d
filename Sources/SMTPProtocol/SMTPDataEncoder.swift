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
    public static func encode(_ content: some Collection<UInt8>, into out: inout ByteBuffer, dotStuffing: Bool) {
        out.reserveCapacity(minimumWritableBytes: content.count + content.count / 64 + 8)
        var atLineStart = true
        var previousCR = false
        var pending: [UInt8] = []
        pending.reserveCapacity(8192)
        for byte in content {
            switch byte {
            case 0x0D:
                if previousCR { pending.append(0x0A) }  // CR CR: the first was a bare CR
                pending.append(0x0D)
                previousCR = true
                atLineStart = false
                continue
            case 0x0A:
                if !previousCR { pending.append(0x0D) }  // bare LF becomes CRLF
                pending.append(0x0A)
                previousCR = false
                atLineStart = true
            default:
                if previousCR {  // bare CR becomes CRLF
                    pending.append(0x0A)
                    atLineStart = true
                }
                previousCR = false
                if atLineStart && byte == UInt8(ascii: ".") && dotStuffing { pending.append(UInt8(ascii: ".")) }
                pending.append(byte)
                atLineStart = false
            }
            if pending.count >= 8192 {
                out.writeBytes(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        if previousCR {
            pending.append(0x0A)
            atLineStart = true
        }
        if !atLineStart { pending += [0x0D, 0x0A] }
        if dotStuffing { pending += [UInt8(ascii: "."), 0x0D, 0x0A] }
        out.writeBytes(pending)
    }

    /// Whether the content has any octet above 127 (needs 8BITMIME, or conversion).
    public static func hasEightBit(_ content: some Collection<UInt8>) -> Bool {
        content.contains { $0 >= 0x80 }
    }
}
