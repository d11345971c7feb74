import EventStore
import JSON
import Testing
@testable import Workflow

@Suite struct LayeredEntitySourceTests {
    private func entity(_ ref: String, status: String, createdOn: Int64 = 1) -> Entity {
        Entity(retailerId: "1", type: "FULFILMENT", ref: ref, id: "id-\(ref)", status: status, rootType: "ORDER", rootRef: "A",
               createdOn: createdOn, updatedOn: createdOn)
    }

    @Test func layerWinsOverStoredEntities() throws {
        let base = MemoryEntityStore()
        for stored in [entity("F1", status: "CREATED"), entity("F2", status: "CREATED")] {
            base.entities[stored.key] = stored
            base.order.append(stored.key)
        }
        let changed = entity("F2", status: "PICKED")
        let created = entity("F3", status: "CREATED", createdOn: 5)
        let source = LayeredEntitySource(layer: [changed.key: changed, created.key: created], base: base)

        #expect(try source.entity(changed.key)?.status == "PICKED")
        #expect(try source.entity(EntityKey(retailerId: "1", type: "FULFILMENT", ref: "F1"))?.status == "CREATED")
        #expect(try source.entity(retailerId: "1", type: "FULFILMENT", id: "id-F2")?.status == "PICKED")
        #expect(try source.entity(retailerId: "1", type: "FULFILMENT", id: "id-F3")?.ref == "F3")

        let children = try source.entities(retailerId: "1", rootType: "ORDER", rootRef: "A", type: "FULFILMENT")
        #expect(children.map(\.ref) == ["F1", "F2", "F3"])
        #expect(children.map(\.status) == ["CREATED", "PICKED", "CREATED"])
    }
}
