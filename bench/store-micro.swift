// Times the event store without HTTP: rendering one stored event as JSON, a ten-event page
// of one order, and inserts in one transaction. Run through bench/store.sh (release build).
import EventStore
import Foundation
import JSON

let path = NSTemporaryDirectory() + "storebench-\(UUID().uuidString).sqlite"
let store = try EventStore(path: path)
var ids: [String] = []
try store.writer.perform { connection in
    for index in 0..<10_000 {
        let event = Event(id: EventID.make(), name: "ConfirmPick", type: EventType.orchestration, accountId: "ACME", retailerId: "1",
                          context: EventContext(entityType: "FULFILMENT", entityId: "5512", entityRef: "F-\(index)", rootEntityType: "ORDER", rootEntityRef: "HD-\(index / 10)"),
                          eventStatus: EventStatus.complete, attributes: ["pickedItems": [["skuRef": "SKU-1", "quantity": 2]], "pickedBy": "WMS"],
                          generatedBy: "demo", generatedOn: Int64(Date().timeIntervalSince1970 * 1000))
        try EventRecords.insert(event, on: connection)
    }
}
let page = try store.read { try EventRecords.list(EventQuery(count: 1), on: $0) }
let eventID = page.results[0].id

func measure(_ label: String, iterations: Int, _ work: () throws -> Void) rethrows {
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<iterations { try work() }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(iterations)
    print("\(label): \(String(format: "%.2f", elapsed)) µs")
}
try measure("fetchJSON", iterations: 100_000) { _ = try store.read { try EventRecords.fetchJSON(id: eventID, on: $0) } }
try measure("listJSON rootEntityRef (10 rows)", iterations: 20_000) {
    _ = try store.read { try EventRecords.listJSON(EventQuery(rootEntityRef: "HD-\(Int.random(in: 0..<1000))"), on: $0) }
}
let inserts = 20_000
let start = DispatchTime.now().uptimeNanoseconds
try store.writer.perform { connection in
    for index in 0..<inserts {
        let event = Event(id: EventID.make(), name: "ConfirmPick", type: EventType.orchestration, accountId: "ACME", retailerId: "1",
                          context: EventContext(entityType: "FULFILMENT", entityRef: "G-\(index)", rootEntityType: "ORDER", rootEntityRef: "HD-\(index / 10)"),
                          eventStatus: EventStatus.pending, attributes: ["pickedItems": [["skuRef": "SKU-1", "quantity": 2]], "pickedBy": "WMS"],
                          generatedBy: "demo", generatedOn: Int64(Date().timeIntervalSince1970 * 1000))
        try EventRecords.insert(event, on: connection)
    }
}
print("insert: \(String(format: "%.2f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(inserts))) µs per event in one transaction")
store.close()
