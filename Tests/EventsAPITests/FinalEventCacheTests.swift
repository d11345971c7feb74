@testable import EventStore
import Foundation
import HTTP
import JSON
import Testing
@testable import EventsAPI

@Suite struct FinalEventCacheTests {
    static let generalEvent = #"{"name":"StockCount","type":"GENERAL","retailerId":"2","entityType":"ORDER","entityRef":"HD-9"}"#
    static let orderEvent = #"{"name":"CREATE","retailerId":"1","entityType":"ORDER","entityRef":"HD-1"}"#

    @Test func finalEventServedFromCache() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let eventID = try server.postEvent(Self.generalEvent, token: token)

        let first = try server.request("GET", "/api/v4.1/event/\(eventID)", token: token)
        #expect(first.status == 200)
        #expect(try first.json()["eventStatus"] == "COMPLETE")

        // With the row gone, only the cache can still return the event.
        try server.store.writer.perform { connection in
            try connection.run("DELETE FROM events WHERE id = ?", [.blob(EventIDBytes.bytes(eventID)!)])
        }
        let second = try server.request("GET", "/api/v4.1/event/\(eventID)", token: token)
        #expect(second.status == 200)
        #expect(second.body == first.body)
    }

    @Test func cachedEventKeepsRetailerLimits() throws {
        let server = try TestServer()
        defer { server.remove() }
        let demo = try server.token()
        let retailer1 = try server.token("retailer1")
        let eventID = try server.postEvent(Self.generalEvent, token: demo)

        #expect(try server.request("GET", "/api/v4.1/event/\(eventID)", token: demo).status == 200)
        #expect(try server.request("GET", "/api/v4.1/event/\(eventID)", token: retailer1).status == 404)
        #expect(try server.request("GET", "/api/v4.1/event/\(eventID)").status == 401)
    }

    @Test func pendingEventIsReadAgain() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()
        let eventID = try server.postEvent(Self.orderEvent, token: token)

        #expect(try server.request("GET", "/api/v4.1/event/\(eventID)", token: token).json()["eventStatus"] == "PENDING")
        _ = try server.store.writer.perform { try EventRecords.updateStatus(id: eventID, status: EventStatus.complete, on: $0) }
        #expect(try server.request("GET", "/api/v4.1/event/\(eventID)", token: token).json()["eventStatus"] == "COMPLETE")
    }

    @Test func cacheStoresOnlyFinalStatuses() {
        let cache = FinalEventCache(maximumBytes: 100, maximumEntryBytes: 50)
        cache.store(eventID: "a", retailerId: "1", eventStatus: "PENDING", json: Array(repeating: 1, count: 10))
        cache.store(eventID: "b", retailerId: "1", eventStatus: "SCHEDULED", json: Array(repeating: 1, count: 10))
        cache.store(eventID: "c", retailerId: "1", eventStatus: "COMPLETE", json: Array(repeating: 1, count: 51))
        #expect(cache.entry(for: "a") == nil)
        #expect(cache.entry(for: "b") == nil)
        #expect(cache.entry(for: "c") == nil)

        for status in ["COMPLETE", "FAILED", "NO_MATCH", "SUCCESS"] {
            cache.store(eventID: status, retailerId: "1", eventStatus: status, json: Array(repeating: 1, count: 10))
            #expect(cache.entry(for: status)?.retailerId == "1", "\(status)")
        }
    }

    @Test func cacheEvictsOldestPastByteLimit() {
        let cache = FinalEventCache(maximumBytes: 100, maximumEntryBytes: 50)
        for index in 0..<5 {
            cache.store(eventID: "e\(index)", retailerId: "1", eventStatus: "SUCCESS", json: Array(repeating: 1, count: 30))
        }
        #expect(cache.usage.count == 3)
        #expect(cache.usage.bytes == 90)
        #expect(cache.entry(for: "e0") == nil)
        #expect(cache.entry(for: "e1") == nil)
        #expect(cache.entry(for: "e4") != nil)
    }
}
