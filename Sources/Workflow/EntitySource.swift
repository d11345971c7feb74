import EventStore

/// A source of entities for the executor: the database in the engine, a dictionary in tests.
public protocol EntitySource {
    /// Returns the entity with `key`, or nil when it does not exist.
    func entity(_ key: EntityKey) throws -> Entity?

    /// Returns the entity of `type` whose id is `id`, or nil.
    func entity(retailerId: String, type: String, id: String) throws -> Entity?

    /// Returns the entities of `type` under a root, oldest first.
    func entities(retailerId: String, rootType: String, rootRef: String, type: String) throws -> [Entity]

    /// Returns the stored event with `id`, or nil. The executor reads the events that sent the
    /// executed one only to name a loop in a failure message.
    func event(id: String) throws -> Event?
}

extension EntitySource {
    public func event(id: String) throws -> Event? {
        nil
    }
}

/// An entity source over one SQLite connection, used inside `EventStore.read`.
public struct SQLiteEntitySource: EntitySource {
    public let connection: SQLiteConnection

    public init(connection: SQLiteConnection) {
        self.connection = connection
    }

    public func entity(_ key: EntityKey) throws -> Entity? {
        try EntityRecords.fetch(key, on: connection)
    }

    public func entity(retailerId: String, type: String, id: String) throws -> Entity? {
        try EntityRecords.fetch(retailerId: retailerId, type: type, id: id, on: connection)
    }

    public func entities(retailerId: String, rootType: String, rootRef: String, type: String) throws -> [Entity] {
        try EntityRecords.fetchAll(retailerId: retailerId, rootType: rootType, rootRef: rootRef, type: type, on: connection)
    }

    public func event(id: String) throws -> Event? {
        try EventRecords.fetch(id: id, on: connection)
    }
}
