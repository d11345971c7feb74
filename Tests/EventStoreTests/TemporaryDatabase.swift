import EventStore
import Foundation
import JSON

/// A directory under the system temp dir, removed by `remove()`.
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "eventstore-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var databasePath: String { path + "/events.sqlite" }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Makes an event with every field set, for tests that vary one of them.
func makeEvent(id: String = EventID.make(), name: String = "CREATE", type: String = EventType.orchestration,
               retailerId: String = "1", category: String? = nil, entityType: String = "ORDER",
               entityId: String? = nil, entityRef: String = "HD-1", rootEntityType: String = "ORDER",
               rootEntityId: String? = nil, rootEntityRef: String = "HD-1", status: String = EventStatus.pending,
               generatedOn: Int64 = TimeFormatNow.milliseconds, scheduledOn: Int64? = nil,
               attributes: JSONValue = ["total": 12.5, "lines": [["sku": "SKU-1", "quantity": 2]]]) -> Event {
    Event(id: id, name: name, type: type, accountId: "ACME", retailerId: retailerId, category: category,
          context: EventContext(sourceEvents: [], entityType: entityType, entityId: entityId, entityRef: entityRef,
                                entitySubtype: "HD", rootEntityType: rootEntityType, rootEntityId: rootEntityId,
                                rootEntityRef: rootEntityRef),
          eventStatus: status, attributes: attributes, source: "tests", generatedBy: "demo",
          generatedOn: generatedOn, scheduledOn: scheduledOn)
}

enum TimeFormatNow {
    static var milliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
