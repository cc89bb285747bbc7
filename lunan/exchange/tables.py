"""Projection tables of the exchange: one row per logged exchange, as each side recorded it.

Provider logs give `p_exchange_served` and `p_exchange_denied`, requester logs
`p_exchange_received`; the audit (lunan.exchange.queries) puts them together at query time.
Only metadata and digests: the logs never hold what was asked or answered.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Table, Text

from lunan.events.tables import projection


def _common(*columns: Column[Any]) -> list[Column[Any]]:
    """Columns every exchange record has: its object id, log position, time and day."""
    return [
        Column("id", Text, primary_key=True),  # exchange-…/<city>/<request id>
        Column("request_id", Text, nullable=False),
        Column("origin", Text, nullable=False),  # the city whose log holds the record
        Column("idx", BigInteger, nullable=False),
        Column("time", Text, nullable=False),  # the event's own time (Asia/Shanghai)
        Column("day", Text, nullable=False),  # its date, YYYY-MM-DD, for quotas and audits
        Column("agreement", Text, nullable=False),
        Column("service", Text, nullable=False),
        *columns,
    ]


# Requests the provider answered with data.
p_exchange_served = Table(
    "p_exchange_served",
    projection,
    *_common(
        Column("requester", Text, nullable=False),
        Column("purpose", Text, nullable=False),
        Column("user", Text, nullable=False),  # pseudonymous: SHA-256 with the requester's salt
        Column("rows", Integer, nullable=False),
        Column("bytes", Integer, nullable=False),
        Column("request_digest", Text, nullable=False),
        Column("response_digest", Text, nullable=False),
    ),
    Index("ix_p_exchange_served_agreement_day", "agreement", "day"),
)

# Signed requests the provider refused (unsigned and badly signed ones are only counted).
p_exchange_denied = Table(
    "p_exchange_denied",
    projection,
    *_common(
        Column("requester", Text, nullable=False),
        Column("reason", Text, nullable=False),  # the problem type's slug
        Column("status", Integer, nullable=False),
        Column("request_digest", Text, nullable=False),
    ),
    Index("ix_p_exchange_denied_agreement_day", "agreement", "day"),
)

# Answers the requester received (data, a refusal, or an error), as it recorded them.
p_exchange_received = Table(
    "p_exchange_received",
    projection,
    *_common(
        Column("provider", Text, nullable=False),
        Column("status", Integer, nullable=False),
        Column("rows", Integer, nullable=False),
        Column("verified", Boolean, nullable=False),  # the provider's signature checked out
        Column("request_digest", Text, nullable=False),
        Column("response_digest", Text, nullable=False),
    ),
    Index("ix_p_exchange_received_agreement_day", "agreement", "day"),
)
