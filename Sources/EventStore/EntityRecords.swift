import JSON

/// Reads and writes rows of the `entity` table.
public enum EntityRecords {
    private static let columns = """
    retailer_id, entity_type, entity_ref, entity_id, entity_subtype, status, attributes, root_entity_type, \
    root_entity_ref, root_entity_id, workflow_name, workflow_version, created_on, updated_on, version
    """

    /// Returns the entity with `key`, or nil.
    public static func fetch(_ key: EntityKey, on connection: SQLiteConnection) throws -> Entity? {
        var result: Entity?
        try connection.query("SELECT \(columns) FROM entities WHERE retailer_id = ? AND entity_type = ? AND entity_ref = ?",
                             [.text(key.retailerId), .text(key.type), .text(key.ref)]) { row in
            result = try decode(row)
        }
        return result
    }

    /// Returns the entity of `type` with the id `id`, or nil; for events that name an entity by
    /// `entityId` only.
    public static func fetch(retailerId: String, type: String, id: String, on connection: SQLiteConnection) throws -> Entity? {
        var result: Entity?
        try connection.query("SELECT \(columns) FROM entities WHERE retailer_id = ? AND entity_type = ? AND entity_id = ? LIMIT 1",
                             [.text(retailerId), .text(type), .text(id)]) { row in
            result = try decode(row)
        }
        return result
    }

    /// Returns the entities of `type` under a root, oldest first.
    public static func fetchAll(retailerId: String, rootType: String, rootRef: String, type: String,
                                on connection: SQLiteConnection) throws -> [Entity] {
        var result: [Entity] = []
        try connection.query("""
            SELECT \(columns) FROM entities
            WHERE retailer_id = ? AND root_entity_type = ? AND root_entity_ref = ? AND entity_type = ?
            ORDER BY rowid
            """, [.text(retailerId), .text(rootType), .text(rootRef), .text(type)]) { row in
            result.append(try decode(row))
        }
        return result
    }

    /// Inserts a new entity (its `version` must be 0); stores it with version 1.
    /// `attributes` is `encodeAttributes(of: entity)`, made beforehand off the writer thread.
    /// When it is nil, the attributes are encoded here.
    /// Throws an `SQLiteError` with `isConstraint` when the key exists already.
    public static func insert(_ entity: Entity, attributes: [UInt8]? = nil, on connection: SQLiteConnection) throws {
        try connection.run("INSERT INTO entities (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)", [
            .text(entity.retailerId), .text(entity.type), .text(entity.ref), .text(entity.id), optional(entity.subtype),
            .text(entity.status), .blob(attributes ?? encodeAttributes(of: entity)), .text(entity.rootType),
            .text(entity.rootRef), optional(entity.rootId), optional(entity.workflowName), optional(entity.workflowVersion),
            .integer(entity.createdOn), .integer(entity.updatedOn),
        ])
    }

    /// Updates an entity read at `entity.version`. Throws `EntityVersionConflict` when another
    /// write changed it since, so that no change is overwritten unnoticed.
    /// `attributes` is as for `insert`.
    public static func update(_ entity: Entity, attributes: [UInt8]? = nil, on connection: SQLiteConnection) throws {
        try connection.run("""
            UPDATE entities SET entity_subtype = ?, status = ?, attributes = ?, root_entity_id = ?, workflow_name = ?,
                workflow_version = ?, updated_on = ?, version = version + 1
            WHERE retailer_id = ? AND entity_type = ? AND entity_ref = ? AND version = ?
            """, [
            optional(entity.subtype), .text(entity.status), .blob(attributes ?? encodeAttributes(of: entity)),
            optional(entity.rootId), optional(entity.workflowName), optional(entity.workflowVersion), .integer(entity.updatedOn),
            .text(entity.retailerId), .text(entity.type), .text(entity.ref), .integer(entity.version),
        ])
        guard connection.changes == 1 else {
            throw EntityVersionConflict(key: entity.key, expectedVersion: entity.version)
        }
    }

    /// Encodes the entity's attributes as the JSON object that is stored.
    public static func encodeAttributes(of entity: Entity) -> [UInt8] {
        JSONWriter.encode(.object(entity.attributes))
    }

    private static func decode(_ row: SQLiteStatement) throws -> Entity {
        let attributes = try JSONParser().parse(row.bytes(6)).objectValue ?? JSONObject()
        return Entity(retailerId: row.text(0), type: row.text(1), ref: row.text(2), id: row.text(3), subtype: row.optionalText(4),
                      status: row.text(5), attributes: attributes, rootType: row.text(7), rootRef: row.text(8),
                      rootId: row.optionalText(9), workflowName: row.optionalText(10), workflowVersion: row.optionalText(11),
                      createdOn: row.integer(12), updatedOn: row.integer(13), version: row.integer(14))
    }

    private static func optional(_ text: String?) -> SQLiteValue {
        text.map { .text($0) } ?? .null
    }
}

/// An entity changed since it was read: another execution wrote it first.
public struct EntityVersionConflict: Error, Sendable, CustomStringConvertible {
    public let key: EntityKey
    public let expectedVersion: Int64

    public var description: String {
        "entity \(key) changed since it was read at version \(expectedVersion)"
    }
}
