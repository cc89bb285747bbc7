"""Timestamps of sessions and tokens: Asia/Shanghai ISO strings, as everywhere in the node.

Every stamp is written by `lunan.clock.now_shanghai()` in one format with one offset
(``2024-05-13T09:30:00.000+08:00``), so the strings sort as the instants do and SQL can compare
them as text.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lunan.clock import now_shanghai

# Sign-ins and API calls note when they were last used; writing that at most once a minute
# spares the database a write per request (the log's writer shares it).
TOUCH_INTERVAL = timedelta(minutes=1)


def now() -> datetime:
    return datetime.fromisoformat(now_shanghai())


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def older_than(when: str | None, age: timedelta, moment: datetime) -> bool:
    """Whether the stamp `when` (None: never) lies more than `age` before `moment`."""
    return when is None or datetime.fromisoformat(when) < moment - age
