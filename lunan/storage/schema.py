"""The node's tables (SQLAlchemy Core). Alembic migrations create them; keep the two in step."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
)

metadata = MetaData()

# Every log this node stores: its own (id 1) and, once it follows them, other members' logs.
logs = Table(
    "logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("origin", Text, nullable=False, unique=True),
    Column("vkey", Text, nullable=False),
)

# The entries, exactly the bytes that were hashed into leaves, 256 to a row in the tlog-tiles
# entry-bundle encoding: a row holds entries [256·idx + first, 256·idx + first + width). Full
# bundles start at first = 0; the last, partial bundle may be stored in pieces. A rowid table
# on SQLite, as its documentation advises for rows this large; see lunan.log.bundles.
log_bundles = Table(
    "log_bundles",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("first", SmallInteger, primary_key=True, autoincrement=False),
    Column("width", SmallInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# Hash tiles (C2SP tlog-tiles) with their internal levels; see lunan.log.tiles.
log_tiles = Table(
    "log_tiles",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("width", SmallInteger, nullable=False),
    Column("nodes", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# Every signed checkpoint, kept so that anyone can check each is consistent with the next.
log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("signed_at", Text, nullable=False),
)

# --- federation: witnessing and replication ---------------------------------------------------

# What this node, as a witness, last cosigned of each other member's log (C2SP tlog-witness).
witness_state = Table(
    "witness_state",
    metadata,
    Column("origin", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

# Cosignature lines collected for checkpoints of the logs this node stores.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("log_id", Integer, ForeignKey("logs.id"), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", Text, primary_key=True),
    Column("line", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)

# Problems with a member's log that an operator must see: fork evidence above all. An alert is
# open until an operator resolves it (lunan.federation.alerts): who, when, through what
# (`cli` or `web`) and a note of what was found and decided. Nothing here is ever deleted.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("resolved_at", Text),
    Column("resolved_by", Text),
    Column("resolved_via", Text),
    Column("resolution_note", Text),
)

# --- people and access (node-local, never replicated) ---
# Users, their API tokens and sign-in sessions belong to this node's city alone: no other member
# needs them, and the log (public, forever) must hold no personal data or secrets.

# The people of this node's city who may sign in; `password_hash` is argon2id (PHC string).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("password_changed_at", Text, nullable=False),
)

# API tokens for systems (Authorization: Bearer); only the SHA-256 of each token is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("label", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_used_at", Text),
    Index("ix_api_tokens_user_id", "user_id"),
)

# Signed-in browser sessions; only the SHA-256 of each session id (the cookie) is kept.
auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id_hash", LargeBinary, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_seen_at", Text, nullable=False),
    Index("ix_auth_sessions_user_id", "user_id"),
)

# --- data exchange (node-local, never replicated) ---
# How this node serves its catalog entries, the tables it imported, and the nonces that make the
# exchange digests in the log unguessable. None of it may reach the log: a data table holds
# personal data, a service's configuration may name an internal system, and a nonce published
# with its digest would let anyone test a guessed 是/否 answer against it.

# The adapter behind each service this node provides (lunan.exchange.adapters).
data_services = Table(
    "data_services",
    metadata,
    Column("service", Text, primary_key=True),
    Column("dataset", Text, nullable=False),  # the catalog entry's object id
    Column("adapter", Text, nullable=False),  # table | sql | http
    Column("config", Text, nullable=False),  # JSON: {"url": …, "table": …, "columns": {…}}
    Column("updated_at", Text, nullable=False),
)

# Rows imported with `lunan data import`, served by the table adapter. `key` is the value of the
# entry's first key field, so that a lookup by it is one index probe.
data_rows = Table(
    "data_rows",
    metadata,
    Column("dataset", Text, primary_key=True),  # the entry's resource code, e.g. 371300-05-0001
    Column("row", Integer, primary_key=True, autoincrement=False),
    Column("key", Text),
    Column("data", Text, nullable=False),  # JSON object: field name -> value
    Index("ix_data_rows_dataset_key", "dataset", "key"),
)

# The nonce of each exchange, on both sides: the log keeps SHA-256(nonce ‖ message) only.
exchange_secrets = Table(
    "exchange_secrets",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("role", Text, primary_key=True),  # served | denied | received
    Column("nonce", LargeBinary, nullable=False),
    Column("created_at", Text, nullable=False),
)
