import HTTP
import Testing

@Suite struct HeadFilterValueTests {
    struct Tenant: Sendable, Equatable {
        let id: String
    }

    @Test func valuesKeptPerType() {
        var request = HTTPRequest(method: .get, target: "/a", path: "/a")
        #expect(request.headFilterValue(String.self) == nil)

        request.attachHeadFilterValue("first")
        request.attachHeadFilterValue(Tenant(id: "7"))
        request.attachHeadFilterValue("second")

        #expect(request.headFilterValue(String.self) == "second")
        #expect(request.headFilterValue(Tenant.self) == Tenant(id: "7"))
        #expect(request.headFilterValue(Int.self) == nil)
    }
}
