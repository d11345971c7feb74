#!/usr/bin/env python3
"""Fills the events table of a migrated events.sqlite with COUNT finished events for benchmarks.

Usage: seed-events.py DATABASE COUNT ROOTS
Events belong to ROOTS orders (HD-0 ... HD-<ROOTS-1>) of retailers 1 to 5; one in five is a
COMPLETE ORCHESTRATION event, the rest are ORCHESTRATION_AUDIT events with status SUCCESS.
generatedOn values are spread over the 20 days before now, so the default 30-day window of
GET /api/v4.1/event covers them all. No event is PENDING, so the workflow engine has nothing to do.
"""
import json, os, sqlite3, sys, time

database, count, roots = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = int(time.time() * 1000)
span = 20 * 86_400_000
categories = ["snapshot", "ruleSet", "rule", "ACTION"]

connection = sqlite3.connect(database, isolation_level=None)
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("PRAGMA synchronous=OFF")
connection.execute("BEGIN")

def rows():
    for index in range(count):
        generated_on = now - span + index * span // count
        # UUIDv7: 48-bit milliseconds, version 7, 12-bit counter, variant, random bits.
        id_bytes = generated_on.to_bytes(6, "big") + (0x7000 | (index & 0x0FFF)).to_bytes(2, "big") \
            + bytes([0x80 | (os.urandom(1)[0] & 0x3F)]) + os.urandom(7)
        root = index % roots
        orchestration = index % 5 == 0
        attributes = {"pickedItems": [{"skuRef": "SKU-%d" % (index % 97), "quantity": 1 + index % 3}], "pickedBy": "WMS"} \
            if orchestration else [{"name": "ruleName", "type": "STRING", "value": "ACME.core.SetState"}]
        yield (id_bytes, "CREATE" if orchestration else "ConfirmPick",
               "ORCHESTRATION" if orchestration else "ORCHESTRATION_AUDIT", "ACME", str(1 + root % 5),
               None if orchestration else categories[index % 4], "[]", "ORDER", None, "HD-%d" % root, "HD",
               "ORDER", None, "HD-%d" % root, "COMPLETE" if orchestration else "SUCCESS",
               json.dumps(attributes, separators=(",", ":")), "bench", "demo", generated_on, None)

connection.executemany(
    "INSERT INTO events (id, name, type, account_id, retailer_id, category, source_events, entity_type, entity_id, "
    "entity_ref, entity_subtype, root_entity_type, root_entity_id, root_entity_ref, event_status, attributes, source, "
    "generated_by, generated_on, scheduled_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    rows())
connection.execute("COMMIT")
connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
connection.close()
