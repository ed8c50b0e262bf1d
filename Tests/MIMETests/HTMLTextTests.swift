import Testing
@testable import MIME

@Suite struct HTMLTextTests {
    @Test func tagsEntitiesBlocksScripts() {
        let r = HTMLText.render("<html><head><title>T</title><style>p{color:red}</style><script>var x='<p>';</script></head><body><p>Hello&nbsp;&amp; welcome</p><div>Line&#32;two &#x263A; &unknown;</div><!-- secret --></body></html>")
        #expect(r.text == "Hello & welcome\nLine two ☺ &unknown;")
        #expect(r.hiddenText == "T")
        #expect(!r.hasHiddenText)
    }

    @Test func hiddenTextIsSeparated() {
        let r = HTMLText.render(#"<p>Visible</p><div style="display: none">buy pills</div><span style="font-size:0px">cheap</span><p hidden>x</p>"#)
        #expect(r.text == "Visible")
        #expect(r.hiddenText.contains("buy pills"))
        #expect(r.hiddenText.contains("cheap"))
        #expect(r.hasHiddenText)
    }

    @Test func zeroWidthCharactersAreRemoved() {
        #expect(HTMLText.render("V&#8203;i\u{200B}a&shy;gra").text == "Viagra")
    }

    @Test func aLinkSplitOverLinesIsTheURLABrowserFollows() {
        let r = HTMLText.render("<a href=\"http://www.exam\r\nple.com/pa\n\tth?x=1\">click</a>")
        #expect(r.urls == ["http://www.example.com/path?x=1"])
        #expect(MIMEURL.normalize("https://evil.\nexample.net/") == MIMEURL.normalize("https://evil.example.net/"))
    }

    @Test func urlsFromAttributesAndText() {
        let r = HTMLText.render(#"<a href="http://a.example/x">t</a><img src='HTTPS://B.EXAMPLE:443/i.png'><form action=http://c.example/post></form><meta http-equiv="refresh" content="0; url=http://d.example/"> see www.e.example/path."#)
        #expect(r.urls == ["http://a.example/x", "https://b.example/i.png", "http://c.example/post", "http://d.example/", "http://www.e.example/path"])
    }
}
