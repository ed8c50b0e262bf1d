// ClamdChunkerTests.swift — cutting a message into INSTREAM frames: sizes, order, the end frame,
// and (property) that the frames always carry exactly the message back.

import PropertyBased
import Testing
@testable import AntiVirus

@Suite struct ClamdChunkerTests {
    @Test func rangesCoverTheMessageInChunksOfAtMostTheSize() {
        let chunker = ClamdChunker(chunkSize: 4)
        #expect(chunker.ranges(count: 0).isEmpty)
        #expect(chunker.ranges(count: 1) == [0..<1])
        #expect(chunker.ranges(count: 4) == [0..<4])
        #expect(chunker.ranges(count: 8) == [0..<4, 4..<8])
        #expect(chunker.ranges(count: 10) == [0..<4, 4..<8, 8..<10])
    }

    @Test func encodesTheWholeRequest() {
        let request = ClamdChunker(chunkSize: 4).encodedRequest(for: Array("abcdefghij".utf8))
        let expected: [UInt8] = Array("zINSTREAM\0".utf8)
            + [0, 0, 0, 4] + Array("abcd".utf8)
            + [0, 0, 0, 4] + Array("efgh".utf8)
            + [0, 0, 0, 2] + Array("ij".utf8)
            + [0, 0, 0, 0]
        #expect(request == expected)
    }

    @Test func anEmptyMessageIsTheEndFrameAlone() {
        #expect(ClamdChunker().encodedRequest(for: []) == Array("zINSTREAM\0".utf8) + [0, 0, 0, 0])
    }

    @Test func theChunkSizeIsClampedToWhatAFrameCanCarry() {
        #expect(ClamdChunker(chunkSize: 0).chunkSize == 1)
        #expect(ClamdChunker(chunkSize: -5).chunkSize == 1)
        #expect(ClamdChunker(chunkSize: Int.max).chunkSize == Int(UInt32.max))
        #expect(ClamdChunker().chunkSize == AntiVirusDefaults.chunkSize)
    }

    @Test func chunksAreSlicesOfTheMessage() {
        let message = Array("hello, world".utf8)
        let chunks = ClamdChunker(chunkSize: 5).chunks(of: message)
        #expect(chunks.map { Array($0) } == [Array("hello".utf8), Array(", wor".utf8), Array("ld".utf8)])
    }

    @Test func framesAlwaysCarryTheMessageBack() async {
        let message = Gen<UInt8>.value(in: 0...255).array(of: 0...3_000)
        await propertyCheck(count: 500, input: message, Gen.int(in: 1...700)) { message, size in
            let request = ClamdChunker(chunkSize: size).encodedRequest(for: message)
            let frames = try #require(Self.frames(request))
            #expect(frames.last == [])
            #expect(frames.dropLast().allSatisfy { !$0.isEmpty && $0.count <= size })
            #expect(frames.dropLast().count == (message.count + size - 1) / size)
            #expect(Array(frames.joined()) == message)
        }
    }

    /// The frames of an encoded INSTREAM request, read independently of the production code.
    static func frames(_ request: [UInt8]) -> [[UInt8]]? {
        let command = Array("zINSTREAM\0".utf8)
        guard request.starts(with: command) else { return nil }
        var frames: [[UInt8]] = []
        var offset = command.count
        while offset + 4 <= request.count {
            let length = request[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard offset + length <= request.count else { return nil }
            frames.append(Array(request[offset..<offset + length]))
            offset += length
            if length == 0 { return offset == request.count ? frames : nil }
        }
        return nil
    }
}
