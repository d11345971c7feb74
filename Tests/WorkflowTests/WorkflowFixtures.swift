import EventStore
import Foundation
import JSON
@testable import Workflow

/// Paths and builders shared by the workflow tests.
enum WorkflowFixtures {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let workflowDirectory = repositoryRoot + "/Config/workflows"

    static func catalog() throws -> WorkflowCatalog {
        WorkflowCatalog(try WorkflowLoader.load(directory: workflowDirectory))
    }

    /// Writes `text` to a new temporary directory as `name` and returns the file's path.
    static func writeWorkflow(_ text: String, name: String = "test.json", directory: String? = nil) throws -> String {
        let folder = directory ?? temporaryDirectory()
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "workflow-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Decodes a workflow from JSON text, failing the test on a load error.
    static func workflow(_ text: String) throws -> WorkflowDefinition {
        let path = try writeWorkflow(text)
        return try WorkflowLoader.validate(file: path)
    }

    /// Makes an ORCHESTRATION event as the API would store it.
    static func event(_ name: String, type entityType: String, ref: String, subtype: String? = nil, rootType: String? = nil,
                      rootRef: String? = nil, retailerId: String = "1", attributes: JSONObject = JSONObject()) -> Event {
        Event(id: EventID.make(), name: name, type: EventType.orchestration, accountId: "ACME", retailerId: retailerId,
              context: EventContext(entityType: entityType, entityRef: ref, entitySubtype: subtype, rootEntityType: rootType,
                                    rootEntityRef: rootRef),
              eventStatus: EventStatus.pending, attributes: .object(attributes), source: "test", generatedBy: "tester",
              generatedOn: 1_800_000_000_000)
    }
}

/// Entities in memory, with the outcome of each execution applied as the engine would write it.
final class MemoryEntityStore: EntitySource {
    var entities: [EntityKey: Entity] = [:]
    var order: [EntityKey] = []
    var events: [Event] = []

    func entity(_ key: EntityKey) throws -> Entity? {
        entities[key]
    }

    func entity(retailerId: String, type: String, id: String) throws -> Entity? {
        entities.values.first { $0.retailerId == retailerId && $0.type == type && $0.id == id }
    }

    func entities(retailerId: String, rootType: String, rootRef: String, type: String) throws -> [Entity] {
        order.compactMap { entities[$0] }.filter {
            $0.retailerId == retailerId && $0.rootType == rootType && $0.rootRef == rootRef && $0.type == type
        }
    }

    func apply(_ outcome: ExecutionOutcome) {
        for write in outcome.entityWrites {
            var entity = write.entity
            if write.isNew {
                order.append(entity.key)
                entity.version = 1
            } else {
                entity.version += 1
            }
            entities[entity.key] = entity
        }
        events.append(outcome.event)
        events.append(contentsOf: outcome.events)
    }

    func status(_ type: String, _ ref: String, retailerId: String = "1") -> String? {
        entities[EntityKey(retailerId: retailerId, type: type, ref: ref)]?.status
    }

    func attribute(_ type: String, _ ref: String, _ name: String) -> JSONValue? {
        entities[EntityKey(retailerId: "1", type: type, ref: ref)]?.attributes[name]
    }

    /// Runs `event` and applies the outcome.
    @discardableResult
    func run(_ event: Event, with executor: WorkflowExecutor) -> ExecutionOutcome {
        let outcome = executor.execute(event, entities: self)
        apply(outcome)
        return outcome
    }
}

extension ExecutionOutcome {
    /// Returns the audits of `category` whose sourceEvents is `[eventId]`.
    func audits(_ category: String, for eventId: String? = nil) -> [Event] {
        let id = eventId ?? event.id
        return events.filter { $0.type == EventType.orchestrationAudit && $0.category == category && $0.context.sourceEvents == [id] }
    }

    var inlineEvents: [Event] {
        events.filter { $0.type == EventType.orchestration && $0.eventStatus != EventStatus.pending && $0.eventStatus != EventStatus.scheduled }
    }
}

extension Event {
    func auditType(_ name: String) -> String? {
        attributes.arrayValue?.first { $0["name"]?.stringValue == name }?["type"]?.stringValue
    }
}
