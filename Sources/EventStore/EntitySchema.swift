/// Migration 2, the workflow engine's tables: orchestrated entities and the webhook outbox.
public enum EntitySchema {
    public static let migration = Migration(version: 2, name: "entities and webhook outbox", statements: [
        // Entity attributes are a JSON object written by JSONWriter. `version` counts updates so
        // a write based on a stale read is detected instead of overwriting.
        """
        CREATE TABLE entities (
            retailer_id TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            entity_ref TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            entity_subtype TEXT,
            status TEXT NOT NULL,
            attributes BLOB NOT NULL,
            root_entity_type TEXT NOT NULL,
            root_entity_ref TEXT NOT NULL,
            root_entity_id TEXT,
            workflow_name TEXT,
            workflow_version TEXT,
            created_on INTEGER NOT NULL,
            updated_on INTEGER NOT NULL,
            version INTEGER NOT NULL,
            UNIQUE (retailer_id, entity_type, entity_ref)
        ) STRICT
        """,
        "CREATE INDEX entities_by_root ON entities (retailer_id, root_entity_type, root_entity_ref, entity_type)",
        "CREATE INDEX entities_by_id ON entities (retailer_id, entity_type, entity_id)",

        // Webhook calls written in the same transaction as the execution that sent them, and
        // delivered after its commit. `context` is the executed event's context as JSON.
        """
        CREATE TABLE webhook_outbox (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL,
            webhook_name TEXT NOT NULL,
            url TEXT NOT NULL,
            payload BLOB NOT NULL,
            context BLOB NOT NULL,
            account_id TEXT NOT NULL,
            retailer_id TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_on INTEGER NOT NULL,
            last_error TEXT,
            created_on INTEGER NOT NULL,
            updated_on INTEGER NOT NULL
        ) STRICT
        """,
        "CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_on)",
        "CREATE INDEX webhook_outbox_by_event ON webhook_outbox (event_id)",
    ])
}
