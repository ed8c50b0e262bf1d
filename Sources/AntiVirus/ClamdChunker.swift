// ClamdChunker.swift — cuts a message into INSTREAM frames (clamd(8), "INSTREAM").
//
// A message of n octets becomes ⌈n / chunkSize⌉ frames of chunkSize octets (the last one shorter),
// then the empty frame that ends the stream. An empty message is the end frame alone: clamd scans
// it and answers `stream: OK`. No frame is ever empty but the last, since an empty frame would end
// the stream early and clamd would scan only what came before it.

/// Splits message data into INSTREAM chunks no larger than `chunkSize`.
public struct ClamdChunker: Hashable, Sendable {
    /// Largest chunk, in octets: at least 1, at most what a frame header can express (2³² − 1).
    public let chunkSize: Int

    /// A chunker; `chunkSize` is clamped into 1...2³² − 1.
    public init(chunkSize: Int = AntiVirusDefaults.chunkSize) {
        self.chunkSize = min(max(chunkSize, 1), Int(UInt32.max))
    }

    /// The ranges of the chunks of a message of `count` octets, in order: each non-empty and at most
    /// `chunkSize` long, together exactly `0..<count`. None for an empty message.
    public func ranges(count: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        return stride(from: 0, to: count, by: chunkSize).map { $0..<min($0 + chunkSize, count) }
    }

    /// The chunks of `bytes`, in order (slices, not copies).
    public func chunks(of bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        ranges(count: bytes.count).map { bytes[$0] }
    }

    /// The whole INSTREAM request for `bytes`: the command, each chunk as a frame, the end frame.
    /// For tests and tools; the client writes the same octets frame by frame.
    public func encodedRequest(for bytes: [UInt8]) -> [UInt8] {
        var out = ClamdCommand.instream.encoded
        out.reserveCapacity(out.count + bytes.count + 4 * (bytes.count / chunkSize + 2))
        for chunk in chunks(of: bytes) {
            out += ClamdCommand.frameHeader(length: chunk.count)
            out += chunk
        }
        out += ClamdCommand.endOfStream
        return out
    }
}
