"""Governance projections: bodies, joint meetings, agreements, signatures, landed projects.

Rebuilt from the logs (no migrations). Each row is changed only by the log that owns its
object: alliance-wide bodies and meetings by the chair's log, an agreement by its drafter's,
a signature by the signer's. Whether an agreement is in force combines several logs, so it is
not stored: `queries.py` works it out from the signatures and the agreement's current text.
Lists and nested values are canonical JSON text (`lunan.events.context.dumps`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, Table, Text

from lunan.events.tables import projection

# 领导小组 and 工作专班 (alliance-wide, by the chair).
p_gov_bodies = Table(
    "p_gov_bodies",
    projection,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("lead_city", Text),
    Column("lead_department", Text, nullable=False),
    Column("duties", Text, nullable=False),
    Column("members", Text, nullable=False),  # JSON [{city, department, position, person}]
    Column("note", Text, nullable=False),
    Column("status", Text, nullable=False),  # active | dissolved
    Column("created_time", Text, nullable=False),
    Column("updated_time", Text, nullable=False),
)

# 联席会议 (alliance-wide, by the chair).
p_gov_meetings = Table(
    "p_gov_meetings",
    projection,
    Column("id", Text, primary_key=True),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("date", Text, nullable=False),
    Column("host_city", Text, nullable=False),
    Column("place", Text, nullable=False),
    Column("agenda", Text, nullable=False),  # JSON, nested items
    Column("attendees", Text, nullable=False),  # JSON [{city, people}]
    Column("documents", Text, nullable=False),  # JSON [{name, sha256, size}]
    Column("note", Text, nullable=False),
    Column("status", Text, nullable=False),  # planned | held | approved
    Column("minutes", Text, nullable=False),
    Column("created_time", Text, nullable=False),
    Column("updated_time", Text, nullable=False),
    Column("held_time", Text),
    Column("approved_time", Text),
)

# A meeting's resolutions as its minutes number them, with what was created from each.
p_gov_resolutions = Table(
    "p_gov_resolutions",
    projection,
    Column("meeting", Text, primary_key=True),
    Column("id", Text, primary_key=True),  # r1, r2…
    Column("seq", Integer, nullable=False),  # order in the minutes
    Column("text", Text, nullable=False),
    Column("creates", Text, nullable=False),  # JSON [object ids], in the order linked
)

# 协议 (each owned by the city that drafted it).
p_gov_agreements = Table(
    "p_gov_agreements",
    projection,
    Column("id", Text, primary_key=True),
    Column("drafter", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("parties", Text, nullable=False),  # JSON [city], immutable
    Column("text", Text, nullable=False),
    Column("text_sha256", Text, nullable=False),
    Column("attachments", Text, nullable=False),  # JSON [{name, sha256, size}]
    Column("source_ref", Text),  # immutable, e.g. meeting/371300/2#r1
    Column("signing_place", Text, nullable=False),
    Column("signing_date", Text),
    Column("note", Text, nullable=False),
    Column("created_time", Text, nullable=False),
    Column("updated_time", Text, nullable=False),
)
Index("ix_p_gov_agreements_source_ref", p_gov_agreements.c.source_ref)

# Every text an agreement has had, and the event that introduced it: rows are never changed,
# so a signature's apply may ask whether the signer had seen a text (its deps cover the event).
p_gov_agreement_texts = Table(
    "p_gov_agreement_texts",
    projection,
    Column("agreement", Text, primary_key=True),
    Column("sha256", Text, primary_key=True),
    Column("origin", Text, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("time", Text, nullable=False),
)

# Signatures, each in the signing party's own log.
p_gov_signatures = Table(
    "p_gov_signatures",
    projection,
    Column("id", Text, primary_key=True),  # signature/<city>/<n>
    Column("agreement", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("idx", BigInteger, nullable=False),  # position in the signer's log
    Column("text_sha256", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("time", Text, nullable=False),
)
Index("ix_p_gov_signatures_agreement", p_gov_signatures.c.agreement)

# 落地项目 (each owned by the city that records it).
p_gov_projects = Table(
    "p_gov_projects",
    projection,
    Column("id", Text, primary_key=True),
    Column("recorded_by", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("location", Text, nullable=False),
    Column("area", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("source_ref", Text),
    Column("note", Text, nullable=False),
    Column("created_time", Text, nullable=False),
    Column("updated_time", Text, nullable=False),
)
