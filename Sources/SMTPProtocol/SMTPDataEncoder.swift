// SMTPDataEncoder.swift — message content as it goes on the wire after DATA or BDAT.
//
// RFC 5321 §4.5.2: a line that starts with "." gets one more "."; the data ends with ".CRLF" on a
// line of its own. The receiver decides where lines start, and receivers differ on bare CR and bare
// LF, so every CR, LF and CRLF of the content is written as CRLF and stuffing is decided on those
// boundaries. A stray CR or LF in a stored message therefore never reaches the wire as something
// a receiver could read as the end of the data (SMTP smuggling, CVE-2023-51764 and relatives).

public import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum SMTPDataEncoder {
    /// Appends `content` to `out` with line ends normalised to CRLF and, when `dotStuffing`,
    /// leading dots doubled and the terminating ".CRLF" written (DATA). For BDAT pass
    /// `dotStuffing: false`: line ends are normalised, nothing else changes.
    /// A final line without a line end gets CRLF.
    ///
    /// Lines that already end in CRLF and need no dot are copied in one run, however many there are;
    /// only a bare CR, a bare LF, a leading dot or a missing final line end interrupts the run.
    public static func encode(_ content: [UInt8], into out: inout ByteBuffer, dotStuffing: Bool) {
        out.reserveCapacity(minimumWritableBytes: content.count + content.count / 64 + 8)
        content.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            let count = raw.count
            // Content from `run` up to `start` goes out as it is; `start` is the current line's first byte.
            var run = 0
            var start = 0
            // The next LF at or after `start` (or `count`): searched again only once passed, so
            // content of bare CRs without LFs is still read once, not once per CR.
            var lineFeed = -1
            func copy(upTo end: Int) {
                if end > run { out.writeBytes(UnsafeRawBufferPointer(start: base + run, count: end - run)) }
            }
            while start < count {
                if dotStuffing && raw[start] == UInt8(ascii: ".") {
                    copy(upTo: start)
                    out.writeInteger(UInt8(ascii: "."))
                    run = start
                }
                if lineFeed < start {
                    lineFeed = memchr(base + start, 0x0A, count - start).map { base.distance(to: UnsafeRawPointer($0)) } ?? count
                }
                let carriageReturn = memchr(base + start, 0x0D, lineFeed - start).map { base.distance(to: UnsafeRawPointer($0)) } ?? lineFeed
                if lineFeed < count && carriageReturn == lineFeed - 1 {
                    start = lineFeed + 1  // CRLF: the line stays in the run
                    continue
                }
                // The line ends at a bare CR, a bare LF, or the end of the content: CRLF instead.
                copy(upTo: carriageReturn)
                out.writeInteger(UInt16(0x0D0A))
                start = carriageReturn + 1
                run = start
            }
            copy(upTo: min(start, count))
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
