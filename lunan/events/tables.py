"""Projection tables: everything here is rebuilt from the logs (`lunan rebuild`).

They live in their own MetaData, apart from the node's stored tables (`lunan.storage.schema`):
they need no migrations, because a schema change is a rebuild (see ADR 0007). Domain modules add
their tables to `projection` too. Rules that keep every node's projections byte-identical:
keys are object ids and log positions, never autoincrement; no wall-clock times, only the
events' own; no floats (decimal strings); a row is changed only by events of one log at a time.
All names start with `p_`, so an operator can tell derived tables from stored ones.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text

projection = MetaData()

# How far each member log has been folded in: entries [0, next_index) are processed.
p_positions = Table(
    "p_positions",
    projection,
    Column("origin", Text, primary_key=True),
    Column("next_index", BigInteger, nullable=False),
)

# Per log, the furthest position of each other log its events have declared as deps so far:
# what the log's writer had seen, so what its later events may refer to.
p_frontier = Table(
    "p_frontier",
    projection,
    Column("origin", Text, primary_key=True),
    Column("dep_origin", Text, primary_key=True),
    Column("idx", BigInteger, nullable=False),
)

# Every processed entry: applied, or rejected with the reason (never applied).
p_events = Table(
    "p_events",
    projection,
    Column("origin", Text, primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("type", Text),
    Column("object", Text),
    Column("time", Text),
    Column("actor", Text),
    Column("status", Text, nullable=False),  # applied | rejected
    Column("reason", Text),  # a stable slug, e.g. not-owner
    Column("detail", Text),
)

# Every object any event created: who created it and which event last changed it.
p_objects = Table(
    "p_objects",
    projection,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("created_origin", Text, nullable=False),
    Column("created_idx", BigInteger, nullable=False),
    Column("updated_origin", Text, nullable=False),
    Column("updated_idx", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
)

# The member nodes as their genesis entries describe them.
p_nodes = Table(
    "p_nodes",
    projection,
    Column("city", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("log", Text, nullable=False),
    Column("vkey", Text, nullable=False),
    Column("since", Text, nullable=False),
)

# Who has held the chair: the first chair from the alliance file, later ones by acceptance.
# `until_idx` is the index of the holder's handover event in its own log.
p_chairs = Table(
    "p_chairs",
    projection,
    Column("city", Text, primary_key=True),
    Column("since_origin", Text),
    Column("since_idx", BigInteger),
    Column("until_idx", BigInteger),
    Column("handed_to", Text),
)

# Handovers of the chair, and their acceptance.
p_handovers = Table(
    "p_handovers",
    projection,
    Column("id", Text, primary_key=True),
    Column("from_city", Text, nullable=False),
    Column("to_city", Text, nullable=False),
    Column("term_start", Text, nullable=False),
    Column("term_end", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("time", Text, nullable=False),
    Column("accepted_by", Text),
    Column("accepted_time", Text),
)

# Not part of the state: which code version built these tables.
p_meta = Table(
    "p_meta",
    projection,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
NOT_STATE = frozenset({"p_meta"})
