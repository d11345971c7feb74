import EventStore

/// Entities as the root's uncommitted executions left them (`layer`), over the committed ones
/// (`base`). Lets an event execute before the previous event of its root has committed.
struct LayeredEntitySource: EntitySource {
    let layer: [EntityKey: Entity]
    let base: any EntitySource

    func entity(_ key: EntityKey) throws -> Entity? {
        if let entity = layer[key] { return entity }
        return try base.entity(key)
    }

    func entity(retailerId: String, type: String, id: String) throws -> Entity? {
        if let entity = layer.values.first(where: { $0.retailerId == retailerId && $0.type == type && $0.id == id }) {
            return entity
        }
        guard let stored = try base.entity(retailerId: retailerId, type: type, id: id) else { return nil }
        return layer[stored.key] ?? stored
    }

    func entities(retailerId: String, rootType: String, rootRef: String, type: String) throws -> [Entity] {
        var result = try base.entities(retailerId: retailerId, rootType: rootType, rootRef: rootRef, type: type).map { layer[$0.key] ?? $0 }
        let stored = Set(result.map(\.key))
        let created = layer.values.filter {
            !stored.contains($0.key) && $0.retailerId == retailerId && $0.rootType == rootType && $0.rootRef == rootRef && $0.type == type
        }
        result.append(contentsOf: created.sorted { ($0.createdOn, $0.ref) < ($1.createdOn, $1.ref) })
        return result
    }

    func event(id: String) throws -> Event? {
        try base.event(id: id)
    }
}
