// TestSupport.swift — helpers shared by the SMTPProtocol tests: byte buffers from strings and
// the ways of splitting an input into chunks (whole, byte by byte, at every boundary).

import NIOCore

extension ByteBuffer {
    init(_ string: String) {
        self = ByteBufferAllocator().buffer(capacity: string.utf8.count)
        writeString(string)
    }

    init(bytes: [UInt8]) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        writeBytes(bytes)
    }

    var bytes: [UInt8] { Array(readableBytesView) }
    var text: String { String(decoding: readableBytesView, as: UTF8.self) }
}

/// How an input is cut into the reads a channel would deliver.
enum Feeding: String, CaseIterable, Sendable, CustomStringConvertible {
    case whole
    case byteByByte
    case threeBytes

    var description: String { rawValue }

    func chunks(_ bytes: [UInt8]) -> [[UInt8]] {
        switch self {
        case .whole: return [bytes]
        case .byteByByte: return bytes.map { [$0] }
        case .threeBytes: return stride(from: 0, to: bytes.count, by: 3).map { Array(bytes[$0..<min($0 + 3, bytes.count)]) }
        }
    }
}

/// Cuts `bytes` at the given sizes (cycled), for property tests with random chunking.
func chunk(_ bytes: [UInt8], sizes: [Int]) -> [[UInt8]] {
    guard !sizes.isEmpty else { return [bytes] }
    var out: [[UInt8]] = []
    var index = 0
    var which = 0
    while index < bytes.count {
        let n = max(1, sizes[which % sizes.count])
        out.append(Array(bytes[index..<min(index + n, bytes.count)]))
        index += n
        which += 1
    }
    return out
}
