import EventStore

/// The entity an event runs on and the workflow that applies to it.
struct ResolvedTarget {
    var key: EntityKey
    var workflow: WorkflowDefinition
    /// True when this event created the entity.
    var created: Bool
    /// The entity before any rule ran.
    var snapshot: Entity
}

extension ExecutionRun {
    /// Finds (or creates, in status CREATED) the event's entity and its root, and picks the
    /// workflow by retailer, root type and root subtype.
    ///
    /// A new root takes the event's subtype when the event is for the root itself. Otherwise it
    /// takes the subtype of the retailer's only workflow for that root type, and with several
    /// such workflows the event fails because the root must be created first.
    func resolveTarget(_ event: Event) throws(ExecutionFailure) -> ResolvedTarget {
        let context = event.context
        guard let entityType = context.entityType, !entityType.isEmpty else {
            throw ExecutionFailure(.invalidEvent, "event \(event.name) has no entityType: set the type of the entity it is for")
        }
        var knownEntity: Entity?
        var givenRef = context.entityRef.flatMap { $0.isEmpty ? nil : $0 }
        if givenRef == nil, let id = context.entityId, !id.isEmpty {
            knownEntity = try entity(retailerId: event.retailerId, type: entityType, id: id)
            guard let knownEntity else {
                throw ExecutionFailure(.invalidEvent,
                                       "event \(event.name) names \(entityType) by entityId \(id) only, and retailer \(event.retailerId) has no such entity: send entityRef to create it")
            }
            givenRef = knownEntity.ref
        }
        guard let entityRef = givenRef else {
            throw ExecutionFailure(.invalidEvent, "event \(event.name) for \(entityType) has no entityRef: set the ref of the entity it is for")
        }

        let rootType = context.rootEntityType ?? knownEntity?.rootType ?? entityType
        var rootRef = context.rootEntityRef.flatMap { $0.isEmpty ? nil : $0 }
        if rootRef == nil, let rootId = context.rootEntityId, !rootId.isEmpty,
           let root = try entity(retailerId: event.retailerId, type: rootType, id: rootId) {
            rootRef = root.ref
        }
        if rootRef == nil, let knownEntity, knownEntity.rootType == rootType {
            rootRef = knownEntity.rootRef
        }
        if rootRef == nil, rootType == entityType {
            rootRef = entityRef
        }
        guard let rootRef else {
            throw ExecutionFailure(.invalidEvent,
                                   "event \(event.name) for \(entityType)/\(entityRef) names rootEntityType \(rootType) but no rootEntityRef: set the ref of its root entity")
        }
        let isRoot = entityType == rootType && entityRef == rootRef
        let rootKey = EntityKey(retailerId: event.retailerId, type: rootType, ref: rootRef)

        let (root, workflow, rootCreated) = try resolveRoot(rootKey, event: event, isRoot: isRoot)
        if isRoot {
            return ResolvedTarget(key: rootKey, workflow: workflow, created: rootCreated, snapshot: root)
        }

        let key = EntityKey(retailerId: event.retailerId, type: entityType, ref: entityRef)
        if var existing = try entity(key) {
            guard existing.rootType == rootType, existing.rootRef == rootRef else {
                throw ExecutionFailure(.entityConflict,
                                       "entity \(key) belongs to root \(existing.rootType)/\(existing.rootRef), but event \(event.name) names root \(rootType)/\(rootRef): send events for it with its own root")
            }
            if existing.subtype == nil, let subtype = context.entitySubtype {
                existing.subtype = subtype
                overlay.update(existing)
            }
            return ResolvedTarget(key: key, workflow: workflow, created: false, snapshot: existing)
        }

        let now = executor.now()
        let entity = Entity(retailerId: event.retailerId, type: entityType, ref: entityRef, id: context.entityId ?? executor.makeID(),
                            subtype: context.entitySubtype, status: ExecutionRun.initialStatus, rootType: rootType, rootRef: rootRef,
                            rootId: root.id, workflowName: workflow.name, workflowVersion: workflow.version,
                            createdOn: now, updatedOn: now)
        overlay.create(entity)
        return ResolvedTarget(key: key, workflow: workflow, created: true, snapshot: entity)
    }

    private func entity(retailerId: String, type: String, id: String) throws(ExecutionFailure) -> Entity? {
        do {
            return try overlay.entity(retailerId: retailerId, type: type, id: id)
        } catch {
            throw ExecutionFailure(.storage, "cannot read \(type) \(id) of retailer \(retailerId): \(error)")
        }
    }

    /// The status of an entity the engine creates, before any ruleset ran.
    static let initialStatus = "CREATED"

    private func resolveRoot(_ rootKey: EntityKey, event: Event,
                             isRoot: Bool) throws(ExecutionFailure) -> (Entity, WorkflowDefinition, Bool) {
        let catalog = executor.catalog
        if let root = try entity(rootKey) {
            guard root.isRoot else {
                throw ExecutionFailure(.entityConflict,
                                       "\(rootKey) is not a root entity (its root is \(root.rootType)/\(root.rootRef)): name its root in rootEntityType and rootEntityRef")
            }
            let subtype = root.subtype ?? ""
            guard let workflow = catalog.workflow(retailerId: rootKey.retailerId, rootType: rootKey.type, rootSubtype: subtype) else {
                throw ExecutionFailure(.workflowNotFound,
                                       "no workflow \(rootKey.type)::\(subtype) is loaded for retailer \(rootKey.retailerId), which root \(rootKey.type)/\(rootKey.ref) needs: add it to the workflow directory")
            }
            return (root, workflow, false)
        }

        let subtype: String
        if isRoot, let given = event.context.entitySubtype, !given.isEmpty {
            subtype = given
        } else {
            let candidates = catalog.workflows(retailerId: rootKey.retailerId, rootType: rootKey.type)
            switch candidates.count {
            case 0:
                throw ExecutionFailure(.workflowNotFound,
                                       "no workflow is loaded for retailer \(rootKey.retailerId) and root entity type \(rootKey.type): add one to the workflow directory or fix rootEntityType")
            case 1:
                subtype = candidates[0].entitySubtype
            default:
                let subtypes = candidates.map(\.entitySubtype).joined(separator: ", ")
                throw ExecutionFailure(.rootNotResolved,
                                       "root \(rootKey.type)/\(rootKey.ref) does not exist and retailer \(rootKey.retailerId) has workflows for \(rootKey.type) subtypes \(subtypes): create the root first with an event for \(rootKey.type)/\(rootKey.ref) that sets entitySubtype")
            }
        }
        guard let workflow = catalog.workflow(retailerId: rootKey.retailerId, rootType: rootKey.type, rootSubtype: subtype) else {
            let loaded = catalog.workflows(retailerId: rootKey.retailerId, rootType: rootKey.type).map(\.name)
            throw ExecutionFailure(.workflowNotFound,
                                   "no workflow \(rootKey.type)::\(subtype) is loaded for retailer \(rootKey.retailerId) (loaded for \(rootKey.type): \(loaded.isEmpty ? "none" : loaded.joined(separator: ", "))): fix entitySubtype or add the workflow")
        }

        let now = executor.now()
        let context = event.context
        let rootId = context.rootEntityId ?? (isRoot ? context.entityId : nil) ?? executor.makeID()
        let root = Entity(retailerId: rootKey.retailerId, type: rootKey.type, ref: rootKey.ref, id: rootId, subtype: subtype,
                          status: ExecutionRun.initialStatus, rootType: rootKey.type, rootRef: rootKey.ref, rootId: rootId,
                          workflowName: workflow.name, workflowVersion: workflow.version, createdOn: now, updatedOn: now)
        overlay.create(root)
        return (root, workflow, true)
    }
}
