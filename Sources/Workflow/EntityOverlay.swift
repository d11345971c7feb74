import EventStore

/// The entities one execution has read or changed, over its entity source. Rules see their
/// own changes at once; nothing reaches the database until the outcome is written.
struct EntityOverlay {
    private let source: any EntitySource
    private var current: [EntityKey: Entity] = [:]
    /// Keys read as absent from the source.
    private var missing: Set<EntityKey> = []
    /// Keys created by this execution.
    private var created: Set<EntityKey> = []
    /// Keys changed or created, in first-change order.
    private var changedOrder: [EntityKey] = []
    private var changed: Set<EntityKey> = []

    init(source: any EntitySource) {
        self.source = source
    }

    mutating func entity(_ key: EntityKey) throws -> Entity? {
        if let entity = current[key] { return entity }
        if missing.contains(key) { return nil }
        guard let entity = try source.entity(key) else {
            missing.insert(key)
            return nil
        }
        current[key] = entity
        return entity
    }

    /// Returns the entity of `type` with id `id`, looking at this execution's entities first.
    mutating func entity(retailerId: String, type: String, id: String) throws -> Entity? {
        if let entity = current.values.first(where: { $0.retailerId == retailerId && $0.type == type && $0.id == id }) {
            return entity
        }
        guard let entity = try source.entity(retailerId: retailerId, type: type, id: id) else { return nil }
        return try self.entity(entity.key)
    }

    /// Adds an entity this execution creates.
    mutating func create(_ entity: Entity) {
        missing.remove(entity.key)
        created.insert(entity.key)
        current[entity.key] = entity
        markChanged(entity.key)
    }

    /// Replaces an entity read or created before.
    mutating func update(_ entity: Entity) {
        current[entity.key] = entity
        markChanged(entity.key)
    }

    /// Returns the entities of `type` under a root: stored ones (oldest first, as changed
    /// here), then the ones this execution created.
    mutating func children(retailerId: String, rootType: String, rootRef: String, type: String) throws -> [Entity] {
        var result: [Entity] = []
        var seen: Set<EntityKey> = []
        for stored in try source.entities(retailerId: retailerId, rootType: rootType, rootRef: rootRef, type: type) {
            if current[stored.key] == nil && !created.contains(stored.key) {
                current[stored.key] = stored
            }
            if let entity = current[stored.key], entity.rootType == rootType, entity.rootRef == rootRef {
                result.append(entity)
                seen.insert(stored.key)
            }
        }
        for key in changedOrder where created.contains(key) && !seen.contains(key) {
            if let entity = current[key], entity.type == type, entity.rootType == rootType, entity.rootRef == rootRef,
               entity.retailerId == retailerId {
                result.append(entity)
            }
        }
        return result
    }

    /// The changed entities, in first-change order.
    var writes: [EntityWrite] {
        changedOrder.compactMap { key in
            current[key].map { EntityWrite(entity: $0, isNew: created.contains(key)) }
        }
    }

    private mutating func markChanged(_ key: EntityKey) {
        if changed.insert(key).inserted {
            changedOrder.append(key)
        }
    }
}
