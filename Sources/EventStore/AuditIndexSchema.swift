/// Migration 3: audit events leave the indexes of low-cardinality columns.
///
/// One execution writes about a dozen ORCHESTRATION_AUDIT rows, and each index is a B-tree
/// insert and WAL page per row. Audits keep the time, id and entity indexes, which every audit
/// query of the Fluent API names (an entity or root, usually with `eventType`); the indexes on
/// name, category, retailer, type, status and entity types hold the other events only, as
/// partial indexes (https://sqlite.org/partialindex.html). A query can use one of those only
/// when its WHERE clause contains the same `type <> 'ORCHESTRATION_AUDIT'` term: see
/// `EventRecords.listStatement`.
public enum AuditIndexSchema {
    /// The WHERE term of the partial indexes, written the same way in every query that uses them.
    public static let excludesAudits = "type <> 'ORCHESTRATION_AUDIT'"

    /// Statuses an audit event can have; a filter on another status never matches an audit.
    static let auditStatuses: Set<String> = ["SUCCESS", "FAILED"]

    static let partialIndexes: [(name: String, column: String)] = [
        ("events_by_name", "name"),
        ("events_by_category", "category"),
        ("events_by_retailer", "retailer_id"),
        ("events_by_type", "type"),
        ("events_by_status", "event_status"),
        ("events_by_entity_type", "entity_type"),
        ("events_by_root_entity_type", "root_entity_type"),
    ]

    public static let migration = Migration(
        version: 3, name: "audit events out of low-cardinality indexes",
        statements: partialIndexes.flatMap { index in [
            "DROP INDEX \(index.name)",
            "CREATE INDEX \(index.name) ON events (\(index.column), generated_on, id) WHERE \(excludesAudits)",
        ] })
}
