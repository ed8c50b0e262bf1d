// The byte-level rewrites of the text paths (URL normalisation, HTML rendering, type detection,
// header name look-up) against the String-level code they replaced: same results on random
// input built from the pieces that make those paths branch (case, percent escapes, CR LF,
// grapheme clusters, non-ASCII letters whose lower case is ASCII such as U+212A KELVIN SIGN).
import Testing
import PropertyBased
@testable import MIME

@Suite struct ByteRewriteEquivalenceTests {
    static let urlPieces = [
        "http", "HTTPS", "ftp", "://", ":\\\\", "www.", "WWW.", "mailto:", "/", "\\", "?", "#", "@", ":", ".", "..", ",", ";", "!",
        ")", "(", "]", "[", "'", "\"", " ", "\t", "\r\n", "\r", "\n", "\u{0B}", "%41", "%2e", "%2F", "%7e", "%C3%A9", "%ff", "%0D%0A",
        "%", "%4", "%zz", "80", "443", "21", "0443", "+80", "-0", "0x", "0X7f", "017", "1", "255", "256", "4294967295",
        "3232235777", "a", "B", "com", "Example", "é", "E\u{301}", "\u{212A}", "\u{130}", "\u{A0}", "\u{2003}", "\u{200B}",
        "日本", ".\u{301}", "(\u{301}", "\u{600}.", "x", "-", "+", "_", "~",
    ]

    @Test func urlNormalisationMatchesStringVersion() async {
        let input = Gen.int(in: 0...(Self.urlPieces.count - 1)).array(of: 0...14)
        await propertyCheck(count: 3000, input: input) { pieces in
            let s = pieces.map { Self.urlPieces[$0] }.joined()
            #expect(MIMEURL.normalize(s) == MIMEURL.normalizeUsingStrings(s), "\(s.debugDescription)")
        }
    }

    @Test func urlNormalisationOnAllASCIIBytes() {
        // Every ASCII byte at each interesting position of a URL.
        for c in 0..<128 {
            let ch = String(UnicodeScalar(UInt8(c)))
            for template in ["http://a\(ch)b.com/p", "\(ch)http://h/\(ch)", "http://h\(ch)", "https://u\(ch)@h:8\(ch)0/x", "www.x\(ch)", "http://0x\(ch)1.2/", "http://h/%4\(ch)"] {
                #expect(MIMEURL.normalize(template) == MIMEURL.normalizeUsingStrings(template), "\(template.debugDescription)")
            }
        }
    }

    static let textPieces = [
        "http", "HTTP", "https", "ftp", "www", "WWW", ".", ":", "://", ":\\\\", "/", "(", ")", " ", "\n", "\t", "w", "h", "f",
        "ww.", "wwww.", "x", "example", "com", "é", "\"", "<", ">", "?", "#", "%41", "@", ",", "tp", "ttp", "s", "1.2.3.4",
    ]

    @Test func urlExtractionMatchesByteScan() async {
        let input = Gen.int(in: 0...(Self.textPieces.count - 1)).array(of: 0...40)
        await propertyCheck(count: 3000, input: input) { pieces in
            let text = pieces.map { Self.textPieces[$0] }.joined()
            #expect(MIMEURL.extract(from: text) == ReferenceURL.extract(from: text), "\(text.debugDescription)")
        }
    }

    static let htmlPieces = [
        "<p>", "</p>", "<div>", "</DIV>", "<br>", "<br/>", "<td>", "<th>", "<span>", "</span>", "<a href=\"", "<a href='", "<a href=",
        "<img src=", " alt=\"", " alt=", "<meta content=\"0; URL=", "<META CONTENT='", "<font size=0>", "<font size=\"-7\">", "</font>",
        "<title>", "</title>", "<script>", "</script>", "<STYLE>", "</style >", "<xml>", "<!--", "-->", "<", ">", "/>", "\"", "'", "=",
        " ", "\t", "\r\n", "\n", " style=\"display:none\"", " style='Font-Size: 0 '", " style=opacity:0", " hidden", " HIDDEN=x",
        " srcset=\"", ",", " 2x", "http://A.example/x", "www.b.example", "HTTP://0x7f.1:80/%7e", "https://u@h.example/#f", "text", "word",
        "&amp;", "&AMP;", "&Auml;", "&auml;", "&nbsp;", "&#65;", "&#x263a;", "&#0;", "&#xD800;", "&#", "&", "&unknown;", "&shy;",
        "\u{200B}", "\u{A0}", "\u{FEFF}", "é", "E\u{301}", "<lin\u{212A}>", "<\u{212A}>", "</\u{212A}>", "</k>", "<blocKquote>",
        "<é>", "</e\u{301}>", "</É>", "<tr\u{212A}>", " \u{212A}=1", " srcsét=x", " cont\u{212A}nt=y", "<p\u{130}>", "</p\u{130}>",
        "日本語", "<table>", "<li>", "<wbr>", "<input>",
    ]

    @Test func htmlRenderingMatchesReference() async {
        let input = Gen.int(in: 0...(Self.htmlPieces.count - 1)).array(of: 0...40)
        await propertyCheck(count: 3000, input: input) { pieces in
            let html = pieces.map { Self.htmlPieces[$0] }.joined()
            let new = HTMLText.render(html)
            let old = ReferenceHTMLText.render(html)
            #expect(new == old, "\(html.debugDescription)")
        }
    }

    @Test func htmlRenderingMatchesReferenceOnCorpus() throws {
        guard let shared = sharedDirectory else { return }
        var checked = 0
        for file in CorpusTests.corpusFiles {
            guard let bytes = readFile(file) else { continue }
            for part in MIMEParser().parse(bytes).parts {
                guard let html = part.html else { continue }
                #expect(HTMLText.render(html) == ReferenceHTMLText.render(html), "\(file)")
                checked += 1
            }
        }
        _ = shared
        #expect(checked > 300)
    }

    static let magic: [[UInt8]] = [
        Array("MZ".utf8), [0x7F, 0x45, 0x4C, 0x46], [0xCA, 0xFE, 0xBA, 0xBE], [0xFE, 0xED, 0xFA, 0xCF], Array("#!".utf8),
        [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], Array("%PDF-".utf8), Array("{\\rtf".utf8), [0x50, 0x4B, 3, 4],
        Array("Rar!\u{1A}\u{07}".utf8), [0x1F, 0x8B], Array("BZh9".utf8), Array("MSCF".utf8), [0x89, 0x50, 0x4E, 0x47],
        Array("GIF89a".utf8), Array("BM".utf8), [0, 0, 1, 0, 1, 0], Array("RIFF".utf8), Array("WEBP".utf8), [0xEF, 0xBB, 0xBF],
        Array(" \r\n<HTML>".utf8), Array("<?xml".utf8), Array("<html".utf8), Array("@ECHO OFF".utf8), Array("<p>".utf8), [0], [12],
        [27], [1], Array("plain text ".utf8), Array("ustar".utf8),
    ]

    @Test func typeDetectionMatchesReference() async {
        let pieces = Gen.int(in: 0...(2 * Self.magic.count)).array(of: 0...12)
        let noise = Gen<UInt8>.value(in: 0...255).array(of: 0...200)
        await propertyCheck(count: 3000, input: pieces, noise, Gen.int(in: 0...600)) { pieces, noise, pad in
            var bytes: [UInt8] = []
            for (k, p) in pieces.enumerated() {
                if p < Self.magic.count { bytes += Self.magic[p] } else { bytes += noise.prefix(p - Self.magic.count + k) }
            }
            if pad % 3 == 0 { bytes = [UInt8](repeating: 32, count: pad) + bytes }
            if pad % 5 == 0 { bytes += [UInt8](repeating: 0x41, count: pad * 8) }
            #expect(MIMEFileType.detect(bytes) == ReferenceFileType.detect(bytes))
            #expect(MIMEFileType.detect(bytes[...]) == ReferenceFileType.detect(bytes[...]))
        }
        for name in ["macro.docm", "nested-ok.zip", "sample.tar.gz", "payload.exe.gz", "encrypted-then-exe.zip"] {
            let f = fixture(name)
            #expect(MIMEFileType.detect(f) == ReferenceFileType.detect(f), "\(name)")
        }
        var iso = [UInt8](repeating: 0, count: 40_000)
        iso.replaceSubrange(32_769..<32_774, with: Array("CD001".utf8))
        #expect(MIMEFileType.detect(iso) == .iso)
        #expect(ReferenceFileType.detect(iso) == .iso)
    }

    @Test func headerNameLookUpMatchesStringComparison() async {
        let pieces = ["Content", "content", "CONTENT", "-", "Type", "type", "\u{212A}", "k", "K", "é", "E\u{301}", "X", "\u{130}", "i"]
        let name = Gen.int(in: 0...(pieces.count - 1)).array(of: 0...4)
        await propertyCheck(count: 2000, input: name, name) { a, b in
            let field = a.map { pieces[$0] }.joined()
            let query = b.map { pieces[$0] }.joined().lowercased()
            let expected = field.count == query.count && field.lowercased() == query
            #expect(MIMEHeader.sameName(field, query) == expected, "\(field.debugDescription) \(query.debugDescription)")
        }
    }
}
