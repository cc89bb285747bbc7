"""Data-sharing projections (p_sharing_*), rebuilt from the logs (no migrations).

Each row is changed only by the log that owns its object: a catalog entry, an agreement and a
refusal by the provider's log, a request and an acknowledgement by the requester's. Whatever
combines logs — a request's state (its decision is in the provider's log), an agreement's
status on a given day, deadlines — is worked out in queries.py, not stored.
Lists and mappings are canonical JSON text (`lunan.events.context.dumps`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Table, Text

from lunan.events.tables import projection

# 共享目录: the entries, as currently published (or withdrawn).
p_sharing_datasets = Table(
    "p_sharing_datasets",
    projection,
    Column("id", Text, primary_key=True),  # dataset/<provider>/<n>
    Column("provider", Text, nullable=False),
    Column("code", Text, nullable=False),  # immutable
    Column("name", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("fields", Text, nullable=False),  # JSON [{name, type, description, category}]
    Column("category", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("update_cycle", Text, nullable=False),
    Column("modes", Text, nullable=False),  # JSON ["api", "file"]
    Column("service", Text, nullable=False),  # immutable
    Column("answer", Text, nullable=False),  # immutable: rows | exists
    Column("keys", Text, nullable=False),  # JSON [field name]
    Column("sample", Boolean, nullable=False),
    Column("response_working_days", Integer, nullable=False),
    Column("status", Text, nullable=False),  # published | withdrawn
    Column("withdrawn_reason", Text),
    Column("created_time", Text, nullable=False),
    Column("updated_time", Text, nullable=False),
)
Index("ix_p_sharing_datasets_code", p_sharing_datasets.c.code)
Index("ix_p_sharing_datasets_service", p_sharing_datasets.c.provider, p_sharing_datasets.c.service)

# Every version an entry has had, keyed by the provider-log event that made it. Rows are never
# changed, so another log's event can be checked against the latest version its deps cover —
# what its writer saw — and the answer is the same on every node.
p_sharing_dataset_versions = Table(
    "p_sharing_dataset_versions",
    projection,
    Column("dataset", Text, primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),  # in the provider's log
    Column("origin", Text, nullable=False),
    Column("fields", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("status", Text, nullable=False),
)

# 共享申请, in the requester's log. Only the requester changes it (withdrawal); the decision
# is the provider's, in p_sharing_agreements / p_sharing_refusals.
p_sharing_requests = Table(
    "p_sharing_requests",
    projection,
    Column("id", Text, primary_key=True),  # data-request/<requester>/<n>
    Column("requester", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("dataset", Text, nullable=False),
    Column("fields", Text, nullable=False),  # JSON [name]
    Column("purpose", Text, nullable=False),
    Column("scenario", Text, nullable=False),
    Column("row_filter", Text, nullable=False),  # JSON {field: [values]}
    Column("period_start", Text, nullable=False),
    Column("period_end", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("consent_required", Boolean, nullable=False),
    Column("quota", BigInteger, nullable=False),
    # 无条件共享 when the entry and every requested field were, as the requester saw them
    Column("category", Text, nullable=False),
    Column("received_on", Text, nullable=False),  # the deadline runs from this day
    Column("note", Text, nullable=False),
    Column("status", Text, nullable=False),  # pending | withdrawn
    Column("withdrawn_idx", BigInteger),  # the withdrawal's place in the requester's log
    Column("withdrawn_reason", Text),
    Column("withdrawn_time", Text),
    Column("filed_idx", BigInteger, nullable=False),
    Column("filed_time", Text, nullable=False),
)
Index("ix_p_sharing_requests_dataset", p_sharing_requests.c.dataset)

# 数据共享协议, in the provider's log.
p_sharing_agreements = Table(
    "p_sharing_agreements",
    projection,
    Column("id", Text, primary_key=True),  # data-agreement/<provider>/<n>
    Column("provider", Text, nullable=False),
    Column("requester", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("dataset", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("fields", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("scenario", Text, nullable=False),
    Column("row_filter", Text, nullable=False),
    Column("period_start", Text, nullable=False),
    Column("period_end", Text, nullable=False),
    Column("quota", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),  # active | suspended | revoked (dates: queries)
    Column("granted_idx", BigInteger, nullable=False),
    Column("granted_time", Text, nullable=False),
    Column("changed_time", Text, nullable=False),
)
Index("ix_p_sharing_agreements_request", p_sharing_agreements.c.request)

# What happened to each agreement, in order: granted, suspended, resumed, revoked.
p_sharing_agreement_changes = Table(
    "p_sharing_agreement_changes",
    projection,
    Column("agreement", Text, primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),  # in the provider's log
    Column("change", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("time", Text, nullable=False),
)

# Refusals, in the provider's log.
p_sharing_refusals = Table(
    "p_sharing_refusals",
    projection,
    Column("id", Text, primary_key=True),  # data-refusal/<provider>/<n>
    Column("provider", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("time", Text, nullable=False),
)
Index("ix_p_sharing_refusals_request", p_sharing_refusals.c.request)

# The requester's record of an agreement granted to it, in its own log.
p_sharing_acks = Table(
    "p_sharing_acks",
    projection,
    Column("id", Text, primary_key=True),  # data-ack/<requester>/<n>
    Column("requester", Text, nullable=False),
    Column("agreement", Text, nullable=False),
    Column("time", Text, nullable=False),
)
Index("ix_p_sharing_acks_agreement", p_sharing_acks.c.agreement)

__all__ = [
    "p_sharing_acks",
    "p_sharing_agreement_changes",
    "p_sharing_agreements",
    "p_sharing_dataset_versions",
    "p_sharing_datasets",
    "p_sharing_refusals",
    "p_sharing_requests",
]
