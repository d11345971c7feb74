import EventStore
import JSON
import Testing
@testable import Workflow

@Suite struct WorkflowExecutorTests {
    let executor: WorkflowExecutor

    init() throws {
        executor = WorkflowExecutor(catalog: try WorkflowFixtures.catalog())
    }

    private func order(_ store: MemoryEntityStore, ref: String = "HD-1") {
        store.run(WorkflowFixtures.event("CREATE", type: "ORDER", ref: ref, subtype: "HD", rootType: "ORDER", rootRef: ref,
                                         attributes: JSONObject([("customerRef", "C-1"), ("totalPrice", 10.5)])), with: executor)
    }

    private func fulfilment(_ store: MemoryEntityStore, ref: String, order: String = "HD-1") {
        store.run(WorkflowFixtures.event("CREATE", type: "FULFILMENT", ref: ref, rootType: "ORDER", rootRef: order,
                                         attributes: JSONObject([("locationRef", "DC-1")])), with: executor)
    }

    @Test func createOrderBooksIt() throws {
        let store = MemoryEntityStore()
        let event = WorkflowFixtures.event("CREATE", type: "ORDER", ref: "HD-1", subtype: "HD", rootType: "ORDER", rootRef: "HD-1",
                                           attributes: JSONObject([("customerRef", "C-1"), ("totalPrice", 10.5), ("currency", "AUD")]))
        let outcome = store.run(event, with: executor)

        #expect(outcome.status == EventStatus.complete)
        #expect(store.status("ORDER", "HD-1") == "BOOKED")
        #expect(store.attribute("ORDER", "HD-1", "customerRef") == "C-1")
        #expect(store.attribute("ORDER", "HD-1", "totalPrice") == .double(10.5))
        #expect(store.attribute("ORDER", "HD-1", "currency") == nil)
        let order = try #require(store.entities[EntityKey(retailerId: "1", type: "ORDER", ref: "HD-1")])
        #expect(order.subtype == "HD")
        #expect(order.workflowName == "ORDER::HD")
        #expect(order.workflowVersion == "1.0")
        #expect(order.isRoot)
        #expect(outcome.entityId == order.id)
    }

    @Test func auditTrailShapes() throws {
        let store = MemoryEntityStore()
        order(store)
        fulfilment(store, ref: "F-1")
        let pick = WorkflowFixtures.event("ConfirmPick", type: "FULFILMENT", ref: "F-1", rootType: "ORDER", rootRef: "HD-1",
                                          attributes: JSONObject([("pickedItems", [["skuRef": "SKU-1", "quantity": 2]])]))
        let outcome = store.run(pick, with: executor)
        #expect(outcome.status == EventStatus.complete)
        #expect(store.status("FULFILMENT", "F-1") == "PICKED")
        #expect(store.status("ORDER", "HD-1") == "PICKED")

        let snapshot = try #require(outcome.audits(AuditCategory.snapshot).first)
        #expect(outcome.audits(AuditCategory.snapshot).count == 1)
        #expect(snapshot.name == "FULFILMENT")
        #expect(snapshot.eventStatus == EventStatus.success)
        #expect(snapshot.auditValue("status") == "AWAITING_PICK")
        #expect(snapshot.auditType("status") == "STRING")
        #expect(snapshot.auditValue("attributes")?["locationRef"] == "DC-1")
        #expect(snapshot.context.entityType == "FULFILMENT")
        #expect(snapshot.context.entityRef == "F-1")
        #expect(snapshot.context.rootEntityRef == "HD-1")
        #expect(snapshot.context.entityId != nil)

        let rulesets = outcome.audits(AuditCategory.ruleSet)
        #expect(rulesets.map(\.name) == ["ConfirmPick"])
        let start = try #require(rulesets[0].auditValue("startTimer")?.integerValue)
        let stop = try #require(rulesets[0].auditValue("stopTimer")?.integerValue)
        #expect(start <= stop)
        #expect(rulesets[0].auditType("startTimer") == "INTEGER")

        let rules = outcome.audits(AuditCategory.rule)
        #expect(rules.map(\.name) == ["ACME.core.RequireAttributes", "ACME.core.SetAttributes", "ACME.core.SetState", "ACME.core.SendEvent"])
        #expect(rules[2].auditValue("props")?["status"] == "PICKED")
        #expect(rules[2].auditType("props") == "OBJECT")

        let actions = outcome.audits(AuditCategory.action)
        #expect(actions.map(\.name) == ["MutateAction", "MutateAction", "SendEventAction"])
        #expect(actions[1].auditValue("from") == "AWAITING_PICK")
        #expect(actions[1].auditValue("to") == "PICKED")
        #expect(actions[2].auditValue("mode") == "INLINE")

        let inline = try #require(outcome.inlineEvents.first)
        #expect(outcome.inlineEvents.count == 1)
        #expect(inline.name == "FulfilmentPicked")
        #expect(inline.eventStatus == EventStatus.complete)
        #expect(inline.context.sourceEvents == [pick.id])
        #expect(inline.context.entityType == "ORDER")
        #expect(inline.context.entityRef == "HD-1")
        #expect(actions[2].auditValue("eventId") == .string(inline.id))
        #expect(outcome.audits(AuditCategory.snapshot, for: inline.id).first?.auditValue("status") == "BOOKED")
        #expect(outcome.audits(AuditCategory.ruleSet, for: inline.id).map(\.name) == ["FulfilmentPicked"])
        #expect(outcome.audits(AuditCategory.rule, for: inline.id).count == 1)
        #expect(outcome.audits(AuditCategory.action, for: inline.id).count == 1)
    }

    @Test func noMatchSaysWhy() throws {
        let store = MemoryEntityStore()
        order(store)
        fulfilment(store, ref: "F-1")
        let event = WorkflowFixtures.event("ShipConfirmation", type: "FULFILMENT", ref: "F-1", rootType: "ORDER", rootRef: "HD-1",
                                           attributes: JSONObject([("consignmentRef", "C"), ("carrier", "X")]))
        let outcome = store.run(event, with: executor)
        #expect(outcome.status == EventStatus.noMatch)
        let audit = try #require(outcome.audits(AuditCategory.exception).first)
        #expect(audit.name == "NoMatchingRuleset")
        let message = try #require(audit.auditValue("message")?.stringValue)
        #expect(message.contains("AWAITING_PICK"))
        #expect(message.contains("FULFILMENT on PICKED"))
        #expect(audit.auditValue("candidates")?.arrayValue?.count == 1)
        #expect(store.status("FULFILMENT", "F-1") == "AWAITING_PICK")
    }

    @Test func unknownEventNameIsNoMatch() {
        let store = MemoryEntityStore()
        let outcome = store.run(WorkflowFixtures.event("Probe", type: "ORDER", ref: "P-1"), with: executor)
        #expect(outcome.status == EventStatus.noMatch)
        #expect(outcome.audits(AuditCategory.exception).first?.auditValue("message")?.stringValue?.contains("no NORMAL ruleset named Probe") == true)
        #expect(store.status("ORDER", "P-1") == "CREATED")
    }

    @Test func missingAttributeFailsWithNothingKept() throws {
        let store = MemoryEntityStore()
        order(store)
        fulfilment(store, ref: "F-1")
        store.run(WorkflowFixtures.event("ConfirmPick", type: "FULFILMENT", ref: "F-1", rootType: "ORDER", rootRef: "HD-1",
                                         attributes: JSONObject([("pickedItems", [])])), with: executor)
        let before = store.entities
        let event = WorkflowFixtures.event("ShipConfirmation", type: "FULFILMENT", ref: "F-1", rootType: "ORDER", rootRef: "HD-1",
                                           attributes: JSONObject([("consignmentRef", "CN-1")]))
        let outcome = store.run(event, with: executor)

        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.entityWrites.isEmpty)
        #expect(outcome.webhooks.isEmpty)
        #expect(outcome.events.count == 1)
        let audit = try #require(outcome.events.first)
        #expect(audit.category == AuditCategory.exception)
        #expect(audit.name == "EventContractViolation")
        #expect(audit.eventStatus == EventStatus.failed)
        #expect(audit.auditValue("attribute") == "carrier")
        #expect(audit.auditValue("expectedType") == "STRING")
        #expect(audit.auditValue("ruleSet") == "ShipConfirmation")
        #expect(outcome.errorMessage?.contains("carrier") == true)
        #expect(outcome.errorMessage?.contains("STRING") == true)
        #expect(store.entities == before)
    }

    @Test func mistypedAttributeFails() throws {
        let store = MemoryEntityStore()
        let first = store.run(WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: "SKU:DC", subtype: "DEFAULT",
                                                     rootType: "INVENTORY_CATALOGUE", rootRef: "DEFAULT:1",
                                                     attributes: JSONObject([("delta", 120), ("reason", "RECEIPT")])), with: executor)
        #expect(first.status == EventStatus.complete)
        #expect(store.attribute("INVENTORY_POSITION", "SKU:DC", "onHand") == 120)
        #expect(store.status("INVENTORY_CATALOGUE", "DEFAULT:1") == "CREATED")
        #expect(store.entities[EntityKey(retailerId: "1", type: "INVENTORY_CATALOGUE", ref: "DEFAULT:1")]?.subtype == "DEFAULT")
        #expect(first.audits(AuditCategory.custom).map(\.name) == ["stock movement applied"])

        let failed = store.run(WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: "SKU:DC",
                                                      rootType: "INVENTORY_CATALOGUE", rootRef: "DEFAULT:1",
                                                      attributes: JSONObject([("delta", "-5"), ("reason", "DAMAGED")])), with: executor)
        #expect(failed.status == EventStatus.failed)
        #expect(failed.errorMessage?.contains("delta") == true)
        #expect(failed.errorMessage?.contains("INTEGER") == true)
        #expect(failed.events.first?.auditValue("actualType") == "STRING")
        #expect(store.attribute("INVENTORY_POSITION", "SKU:DC", "onHand") == 120)
    }

    @Test func adjustQuantityOverflowFails() throws {
        let store = MemoryEntityStore()
        store.run(WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: "P", rootType: "INVENTORY_CATALOGUE",
                                         rootRef: "DEFAULT:1", attributes: JSONObject([("delta", .integer(Int64.max)), ("reason", "R")])),
                  with: executor)
        let outcome = store.run(WorkflowFixtures.event("InventoryDelta", type: "INVENTORY_POSITION", ref: "P",
                                                       rootType: "INVENTORY_CATALOGUE", rootRef: "DEFAULT:1",
                                                       attributes: JSONObject([("delta", 1), ("reason", "R")])), with: executor)
        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.errorMessage?.contains("64-bit") == true)
        #expect(outcome.events.first?.auditValue("rule") == "ACME.core.AdjustQuantity")
        #expect(store.attribute("INVENTORY_POSITION", "P", "onHand") == .integer(Int64.max))
    }

    @Test func cancelReachesEveryChild() throws {
        let store = MemoryEntityStore()
        order(store, ref: "ON-1234")
        fulfilment(store, ref: "F1", order: "ON-1234")
        fulfilment(store, ref: "F2", order: "ON-1234")
        let cancel = WorkflowFixtures.event("CancelOrder", type: "ORDER", ref: "ON-1234", rootType: "ORDER", rootRef: "ON-1234",
                                            attributes: JSONObject([("cancelReason", "Stolen Credit Card")]))
        let outcome = store.run(cancel, with: executor)
        #expect(outcome.status == EventStatus.complete)
        #expect(store.status("ORDER", "ON-1234") == "CANCELLED")
        #expect(store.status("FULFILMENT", "F1") == "CANCELLED")
        #expect(store.status("FULFILMENT", "F2") == "CANCELLED")
        #expect(outcome.inlineEvents.map(\.context.entityRef) == ["F1", "F2"])
        #expect(outcome.inlineEvents.allSatisfy { $0.name == "CancelFulfilment" })
        #expect(outcome.inlineEvents.allSatisfy { $0.eventStatus == EventStatus.complete })

        let again = store.run(WorkflowFixtures.event("CancelOrder", type: "ORDER", ref: "ON-1234", rootType: "ORDER",
                                                     rootRef: "ON-1234", attributes: JSONObject([("cancelReason", "Duplicate")])),
                              with: executor)
        #expect(again.status == EventStatus.noMatch)
    }

    @Test func subtypeSelectsRuleset() throws {
        let store = MemoryEntityStore()
        let variant = store.run(WorkflowFixtures.event("UpsertProduct", type: "PRODUCT", ref: "V-1", subtype: "VARIANT",
                                                       rootType: "PRODUCT_CATALOGUE", rootRef: "PC:1",
                                                       attributes: JSONObject([("name", "V"), ("standardProductRef", "S-1"), ("size", "M")])),
                                with: executor)
        #expect(variant.status == EventStatus.complete)
        #expect(variant.audits(AuditCategory.rule).first?.auditValue("props")?["attributes"]?.arrayValue?.count == 2)
        #expect(store.attribute("PRODUCT", "V-1", "size") == "M")

        let missing = store.run(WorkflowFixtures.event("UpsertProduct", type: "PRODUCT", ref: "S-1", subtype: "STANDARD",
                                                       rootType: "PRODUCT_CATALOGUE", rootRef: "PC:1",
                                                       attributes: JSONObject([("name", "S"), ("standardProductRef", "S-1")])),
                                with: executor)
        #expect(missing.status == EventStatus.failed)
        #expect(missing.errorMessage?.contains("categoryRefs") == true)
    }

    @Test func webhookGoesToOutbox() throws {
        let store = MemoryEntityStore()
        order(store)
        var entity = try #require(store.entities[EntityKey(retailerId: "1", type: "ORDER", ref: "HD-1")])
        entity.status = "SHIPPED"
        store.entities[entity.key] = entity
        let event = WorkflowFixtures.event("OrderDelivered", type: "ORDER", ref: "HD-1", rootType: "ORDER", rootRef: "HD-1")
        let outcome = store.run(event, with: executor)
        #expect(outcome.status == EventStatus.complete)
        let webhook = try #require(outcome.webhooks.first)
        #expect(webhook.webhookName == "ORDER_DELIVERED")
        #expect(webhook.url == "http://127.0.0.1:18090/hooks/order-delivered")
        #expect(webhook.eventId == event.id)
        let payload = try JSONParser().parse(webhook.payload)
        #expect(payload["id"] == .string(event.id))
        #expect(payload["name"] == "OrderDelivered")
        #expect(payload["context"]?["entityRef"] == "HD-1")
        #expect(outcome.audits(AuditCategory.action).map(\.name) == ["MutateAction", "WebhookAction"])
    }

    @Test func ambiguousRootFails() throws {
        let second = try WorkflowFixtures.workflow("""
            {"retailerId": "1", "version": "1", "name": "ORDER::CC", "entityType": "ORDER", "entitySubtype": "CC",
             "statuses": [], "rulesets": [{"name": "CREATE", "type": "FULFILMENT", "rules": []}]}
            """)
        let workflows = try WorkflowLoader.load(directory: WorkflowFixtures.workflowDirectory) + [second]
        let executor = WorkflowExecutor(catalog: WorkflowCatalog(workflows))
        let store = MemoryEntityStore()
        let outcome = store.run(WorkflowFixtures.event("CREATE", type: "FULFILMENT", ref: "F-1", rootType: "ORDER", rootRef: "NEW-1",
                                                       attributes: JSONObject([("locationRef", "X")])), with: executor)
        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.events.first?.name == "RootNotResolved")
        #expect(outcome.errorMessage?.contains("create the root first") == true)
        #expect(outcome.errorMessage?.contains("HD, CC") == true)
        #expect(store.entities.isEmpty)

        let root = store.run(WorkflowFixtures.event("Hello", type: "ORDER", ref: "NEW-1", subtype: "CC"), with: executor)
        #expect(root.status == EventStatus.noMatch)
        let child = store.run(WorkflowFixtures.event("CREATE", type: "FULFILMENT", ref: "F-1", rootType: "ORDER", rootRef: "NEW-1"),
                              with: executor)
        #expect(child.status == EventStatus.complete)
    }

    @Test func unknownRetailerFails() {
        let store = MemoryEntityStore()
        let outcome = store.run(WorkflowFixtures.event("CREATE", type: "ORDER", ref: "X", retailerId: "99"), with: executor)
        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.events.first?.name == "WorkflowNotFound")
        #expect(outcome.errorMessage?.contains("retailer 99") == true)
    }

    @Test func entityWithAnotherRootFails() {
        let store = MemoryEntityStore()
        order(store, ref: "A")
        order(store, ref: "B")
        fulfilment(store, ref: "F-1", order: "A")
        let outcome = store.run(WorkflowFixtures.event("CancelFulfilment", type: "FULFILMENT", ref: "F-1", rootType: "ORDER", rootRef: "B"),
                                with: executor)
        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.errorMessage?.contains("belongs to root ORDER/A") == true)
    }

    @Test func eventWithoutRefFails() {
        let store = MemoryEntityStore()
        var event = WorkflowFixtures.event("CREATE", type: "ORDER", ref: "X")
        event.context.entityRef = nil
        let outcome = store.run(event, with: executor)
        #expect(outcome.status == EventStatus.failed)
        #expect(outcome.errorMessage?.contains("entityRef") == true)
    }

    @Test func entityNamedByIdOnly() throws {
        let store = MemoryEntityStore()
        var create = WorkflowFixtures.event("CREATE", type: "ORDER", ref: "ON-1", subtype: "HD", rootType: "ORDER", rootRef: "ON-1",
                                            attributes: JSONObject([("customerRef", "C"), ("totalPrice", 1)]))
        create.context.entityId = "1234"
        create.context.rootEntityId = "1234"
        store.run(create, with: executor)
        #expect(store.entities[EntityKey(retailerId: "1", type: "ORDER", ref: "ON-1")]?.id == "1234")

        var cancel = WorkflowFixtures.event("CancelOrder", type: "ORDER", ref: "unused", attributes: JSONObject([("cancelReason", "x")]))
        cancel.context.entityRef = nil
        cancel.context.entityId = "1234"
        cancel.context.rootEntityType = "ORDER"
        cancel.context.rootEntityId = "1234"
        let outcome = store.run(cancel, with: executor)
        #expect(outcome.status == EventStatus.complete)
        #expect(store.status("ORDER", "ON-1") == "CANCELLED")

        var unknown = cancel
        unknown.context.entityId = "9999"
        let failed = store.run(unknown, with: executor)
        #expect(failed.status == EventStatus.failed)
        #expect(failed.errorMessage?.contains("entityId 9999") == true)
    }
}
