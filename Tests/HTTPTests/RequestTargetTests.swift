import Testing
@testable import HTTP

@Suite struct RequestTargetTests {
    @Test func queryPlusStaysPlus() throws {
        let target = try RequestTarget.parse("/q?from=2026-12-01T10:00:00+02:00&to=2026-12-01T10:00:00%2B02:00&space=a%20b").get()
        #expect(target.query.map(\.name) == ["from", "to", "space"])
        #expect(target.query[0].value == "2026-12-01T10:00:00+02:00")
        #expect(target.query[1].value == "2026-12-01T10:00:00+02:00")
        #expect(target.query[2].value == "a b")
    }

    @Test func queryEdgeCases() throws {
        let target = try RequestTarget.parse("/q?a&b=&=c&&d=1=2&e=%3D%26").get()
        #expect(target.query.map(\.name) == ["a", "b", "", "d", "e"])
        #expect(target.query.map(\.value) == ["", "", "c", "1=2", "=&"])
    }

    @Test func invalidPercentEncodingRejected() {
        for target in ["/a%", "/a%2", "/a%zz", "/a%00", "/a%C3", "/q?x=%G1", "/q?x=%FF", "/q?%=1", "/a#frag", "a/b", "//", "ftp://host/x"] {
            let result = RequestTarget.parse(target)
            if target == "//" {
                #expect((try? result.get())?.segments == ["", ""])
            } else {
                #expect((try? result.get()) == nil, "\(target)")
            }
        }
    }

    @Test func pathSegmentsDecodedOneByOne() throws {
        let target = try RequestTarget.parse("/items/a%2Fb/%E2%82%AC").get()
        #expect(target.segments == ["items", "a/b", "€"])
        #expect(target.path == "/items/a/b/€")
    }

    @Test func absoluteAndAsteriskForms() throws {
        let absolute = try RequestTarget.parse("http://example.com:8080/items/1?x=y").get()
        #expect(absolute.form == .absolute)
        #expect(absolute.segments == ["items", "1"])
        #expect(absolute.query.first?.value == "y")
        let bare = try RequestTarget.parse("HTTPS://example.com").get()
        #expect(bare.path == "/")
        let queryOnly = try RequestTarget.parse("http://example.com?x=1").get()
        #expect(queryOnly.path == "/")
        #expect(queryOnly.query.first?.name == "x")
        #expect(try RequestTarget.parse("*").get().form == .asterisk)
    }

    @Test func absoluteFormAuthorityChecked() throws {
        for target in ["http://u:p@x/items/1", "http://user@example.com/", "HTTPS://a@b", "http:///items/1", "http://:80/items/1",
                       "http://a b/", "http://a%zz/", "http://[::1/"] {
            let result = RequestTarget.parse(target)
            #expect((try? result.get()) == nil, "\(target)")
            if case .failure(let error) = result { #expect(error.status == 400, "\(target)") }
        }
        let userinfo = RequestTarget.parse("http://u:secret@x/items/1")
        if case .failure(let error) = userinfo {
            #expect(error.message.contains("userinfo"))
            #expect(!error.message.contains("secret"), "the message must not repeat the credentials")
        }
        for target in ["http://example.com/items/1", "http://[::1]:8080/x", "http://127.0.0.1:80?x=1", "http://a%41b/"] {
            #expect((try? RequestTarget.parse(target).get()) != nil, "\(target)")
        }
    }

    @Test func routerMatchesDecodedSegments() {
        var router = Router()
        router.add(.get, "/items/{id}") { _, _ in }
        router.add(.post, "/items") { _, _ in }
        guard case .found(_, let parameters) = router.match(.get, segments: ["items", "a/b"]) else {
            Issue.record("expected a match")
            return
        }
        #expect(parameters["id"] == "a/b")
        guard case .methodNotAllowed(let allowed) = router.match(.delete, segments: ["items", "1"]) else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed == [.get, .head])
        if case .found = router.match(.get, segments: ["items", ""]) { Issue.record("an empty parameter must not match") }
        if case .found = router.match(.get, segments: ["items", "1", "x"]) { Issue.record("extra segments must not match") }
        #expect(router.allMethods == [.get, .head, .post])
    }
}
