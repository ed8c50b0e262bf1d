// ContentSink.swift — where decoded content goes: hashed, counted, sniffed, kept only if needed.
//
// What it does: every decoded byte is hashed (SHA-256) and counted; the first bytes are kept
// for type detection; the whole content is kept only when it is needed afterwards (body text,
// archives to unpack), up to a cap. Memory is bounded by what is kept, not by the part size.
//
// Security notes: the decision to keep is taken from content (magic numbers), never from the
// declared type, so an archive labelled image/gif is still unpacked.

struct ContentSink {
    /// Bytes kept for type detection (ISO 9660 needs 32 KiB + 6).
    static let headLimit = 36 * 1024

    var hasher = SHA256Hasher()
    var size = 0
    var kept: [UInt8] = []
    /// nil until decided; then the cap for `kept` (0: keep only the head).
    var keepLimit: Int?
    var overflowed = false
    /// The type `decide()` detected, and on how many head bytes.
    private var detected: MIMEFileType?
    private var detectedLength = 0
    let wantText: Int
    let archiveLimit: Int

    init(textLimit: Int, archiveLimit: Int) {
        self.wantText = textLimit
        self.archiveLimit = archiveLimit
    }

    mutating func write(_ chunk: UnsafeBufferPointer<UInt8>) {
        guard chunk.count > 0 else { return }
        hasher.update(UnsafeRawBufferPointer(chunk))
        size += chunk.count
        if keepLimit == nil {
            kept.append(contentsOf: chunk)
            if kept.count >= ContentSink.headLimit { decide() }
            return
        }
        let limit = keepLimit!
        if kept.count < limit {
            let room = limit - kept.count
            if chunk.count <= room {
                kept.append(contentsOf: chunk)
            } else {
                kept.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<room]))
                overflowed = true
            }
        } else if limit > 0 {
            overflowed = true
        }
    }

    /// Chooses what to keep once the head is known.
    mutating func decide() {
        guard keepLimit == nil else { return }
        let type = MIMEFileType.detect(kept.prefix(ContentSink.headLimit))
        detected = type
        detectedLength = min(kept.count, ContentSink.headLimit)
        if type.isArchive {
            keepLimit = archiveLimit
        } else if wantText > 0 {
            keepLimit = wantText
        } else {
            keepLimit = 0
        }
        if kept.count > keepLimit! {
            if keepLimit! > 0 { overflowed = true }
            // Keep the head for detection even when not keeping the content.
            kept = keepLimit! == 0 ? Array(kept.prefix(ContentSink.headLimit)) : Array(kept.prefix(keepLimit!))
        }
    }

    /// The content kept (the head only, unless text or an archive was wanted).
    var keptContent: [UInt8] { kept }
    /// The true type of the content: `MIMEFileType.detect(keptContent.prefix(headLimit))`,
    /// without detecting twice (what is kept is always a prefix of what was seen in `decide()`).
    var trueType: MIMEFileType {
        if let detected, detectedLength == min(kept.count, ContentSink.headLimit) { return detected }
        return MIMEFileType.detect(kept.prefix(ContentSink.headLimit))
    }
    var isComplete: Bool { (keepLimit ?? Int.max) > 0 && !overflowed && kept.count == size }
}
