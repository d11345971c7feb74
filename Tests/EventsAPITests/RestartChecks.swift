import EventStore
import Foundation
import JSON
import Testing

/// Requests and checks shared by the tests that `kill -9` a real server and start it again on
/// the same data directory, with the demo credentials and InventoryDelta events of +1.
enum RestartChecks {
    static func token(port: Int) throws -> String {
        let response = try TestHTTPClient(port: port).request(
            "POST", "/oauth/token?username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=password&scope=api")
        guard response.status == 200, let token = try response.json()["access_token"]?.stringValue else {
            throw TestClientError("token request failed: \(response.status) \(response.text)")
        }
        return token
    }

    static func get(_ target: String, port: Int, token: String) throws -> JSONValue {
        let response = try TestHTTPClient(port: port).request("GET", target, headers: [("Authorization", "Bearer \(token)")])
        guard response.status == 200 else { throw TestClientError("GET \(target) returned \(response.status): \(response.text)") }
        return try response.json()
    }

    /// Polls each acknowledged event until it is not PENDING (30 s for all of them) and expects it COMPLETE.
    static func expectProcessed(_ ids: [String], port: Int, token: String) throws {
        let deadline = Date().addingTimeInterval(30)
        for id in ids {
            var status = ""
            while Date() < deadline {
                status = try get("/api/v4.1/event/\(id)", port: port, token: token)["eventStatus"]?.stringValue ?? ""
                if status != EventStatus.pending { break }
                usleep(10_000)
            }
            #expect(status == EventStatus.complete, "\(id)")
        }
    }

    /// The snapshot audits: each one's id, the event that made it and the entity ref.
    static func snapshots(port: Int, token: String) throws -> [(id: String, source: String, entityRef: String)] {
        let page = try get("/api/v4.1/event?category=snapshot&count=5000", port: port, token: token)
        return (page["results"]?.arrayValue ?? []).compactMap { audit in
            guard let id = audit["id"]?.stringValue, let source = audit["context"]?["sourceEvents"]?.arrayValue?.first?.stringValue,
                  let ref = audit["context"]?["entityRef"]?.stringValue else { return nil }
            return (id, source, ref)
        }
    }

    /// Expects every stored InventoryDelta COMPLETE with exactly one snapshot audit, and each
    /// position's onHand equal to its number of deltas (+1 each). Returns the stored events.
    ///
    /// Stored events whose answer the kill cut off were committed last, so they may still be
    /// executing when every acknowledged one is done: it polls until none is PENDING (30 s).
    @discardableResult
    static func expectEachExecutedOnce(port: Int, token: String) throws -> [JSONValue] {
        let deadline = Date().addingTimeInterval(30)
        var events: [JSONValue] = []
        repeat {
            let stored = try get("/api/v4.1/event?name=InventoryDelta&eventType=ORCHESTRATION&count=5000", port: port, token: token)
            events = stored["results"]?.arrayValue ?? []
            if !events.contains(where: { $0["eventStatus"] == .string(EventStatus.pending) }) { break }
            usleep(10_000)
        } while Date() < deadline
        var snapshotCount: [String: Int] = [:]
        for snapshot in try snapshots(port: port, token: token) {
            snapshotCount[snapshot.source, default: 0] += 1
        }
        var expectedOnHand: [String: Int64] = [:]
        for event in events {
            let id = event["id"]?.stringValue ?? ""
            #expect(event["eventStatus"] == "COMPLETE", "\(id)")
            #expect(snapshotCount[id] == 1, "\(id)")
            expectedOnHand[event["context"]?["entityRef"]?.stringValue ?? "", default: 0] += 1
        }
        for (position, sum) in expectedOnHand {
            let entity = try get("/api/v4.1/entity/INVENTORY_POSITION/\(position)?retailerId=1", port: port, token: token)
            #expect(entity["attributes"]?["onHand"]?.integerValue == sum, "\(position)")
        }
        return events
    }
}
