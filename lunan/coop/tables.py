"""Projection tables of the task ledger (台账): the stored facts, one table per kind of object.

Only facts are stored, each row written by the log that owns its object. Everything that
combines several logs — a task's progress (from the lead's reports), its status, its colour and
colour history, roll-ups — is computed at query time (`lunan.coop.queries`). Dates are ISO text,
JSON lists are canonical text (`lunan.events.context.dumps`), positions are `origin:idx`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, Table, Text

from lunan.events.tables import projection

# Tasks (alliance-wide: the chair's log writes them). `fields` is the whole TaskFields as
# canonical JSON; the columns beside it are copies for lookups.
p_coop_tasks = Table(
    "p_coop_tasks",
    projection,
    Column("id", Text, primary_key=True),
    Column("number", Text, nullable=False),
    Column("area", Text, nullable=False),
    Column("lead_city", Text, nullable=False),  # never changes: reports and requests rely on it
    Column("parent", Text),
    Column("fields", Text, nullable=False),
    Column("created", Text, nullable=False),
    Column("created_time", Text, nullable=False),
    Column("updated", Text, nullable=False),
    Column("updated_time", Text, nullable=False),
)

# Progress reports (进展报告), each the reporting city's own object; `idx` is its position in
# that city's log, which orders one city's reports.
p_coop_reports = Table(
    "p_coop_reports",
    projection,
    Column("id", Text, primary_key=True),
    Column("task", Text, nullable=False, index=True),
    Column("city", Text, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("period", Text, nullable=False),
    Column("progress", Integer, nullable=False),
    Column("done", Text, nullable=False),
    Column("problems", Text, nullable=False),
    Column("next_steps", Text, nullable=False),
    Column("attachments", Text, nullable=False),
    Column("time", Text, nullable=False),
)

# Versions of the supervision rules (督办规则). `seq` numbers them in the order the chairs set
# them: every chair's event follows the previous chair's, so the count is the same everywhere.
p_coop_rules = Table(
    "p_coop_rules",
    projection,
    Column("id", Text, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("effective_from", Text, nullable=False),
    Column("yellow_behind", Integer, nullable=False),
    Column("yellow_days", Integer, nullable=False),
    Column("red_behind", Integer, nullable=False),
    Column("time", Text, nullable=False),
)

# Versions of the configured areas (领域); the highest `seq` is the current list.
p_coop_areas = Table(
    "p_coop_areas",
    projection,
    Column("id", Text, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("areas", Text, nullable=False),
    Column("time", Text, nullable=False),
)

# Reminders (催办) and supervision notices (督办) from the chair, addressed to the task's lead.
p_coop_notices = Table(
    "p_coop_notices",
    projection,
    Column("id", Text, primary_key=True),
    Column("task", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("due", Text),
    Column("to_city", Text, nullable=False),
    Column("time", Text, nullable=False),
)

# Acknowledgements (签收) of notices, by the addressee.
p_coop_acks = Table(
    "p_coop_acks",
    projection,
    Column("id", Text, primary_key=True),
    Column("notice", Text, nullable=False, index=True),
    Column("city", Text, nullable=False),
    Column("time", Text, nullable=False),
)

# Extension (延期申请) and completion (办结申请) requests by the lead. `text` is the reason of
# an extension or the summary of a completion; `new_deadline` is an extension's only.
p_coop_requests = Table(
    "p_coop_requests",
    projection,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),  # extension | completion
    Column("task", Text, nullable=False, index=True),
    Column("city", Text, nullable=False),
    Column("new_deadline", Text),
    Column("text", Text, nullable=False),
    Column("attachments", Text, nullable=False),
    Column("time", Text, nullable=False),
)

# The chair's decisions on requests: at most one per request.
p_coop_decisions = Table(
    "p_coop_decisions",
    projection,
    Column("id", Text, primary_key=True),
    Column("request", Text, nullable=False, unique=True),
    Column("approve", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("time", Text, nullable=False),
)
