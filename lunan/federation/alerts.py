"""Alerts and their one action: an operator resolves an alert with a note.

An alert (table `alerts`, raised by lunan.federation.follower.raise_alert) is **open** until an
operator resolves it, recording who (the OS user on the command line, the signed-in user on the
web), when (Asia/Shanghai), through what (`cli` or `web`) and a note of what was found and
decided. Nothing is deleted: the evidence and the note stay as history.

Resolving a `fork` alert lets the follower of that member try again (`Follower.stopped` looks at
open fork alerts only). Resuming is safe by construction: the follower checks the member's log
against the copy stored here as it always does, and a log that still conflicts with it raises a
**new** alert, which stops following again.

Alerts are node-local, like users: they describe what this node saw, are neither replicated
nor written to the log, and only this node's administrator (or whoever can open its directory)
resolves them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import Engine, select, update

from lunan.alliance.config import Alliance
from lunan.clock import now_shanghai
from lunan.crypto import note as signed_note
from lunan.events.errors import Conflict, Invalid, NotFound
from lunan.federation.follower import FORK
from lunan.log import checkpoint as cp
from lunan.storage.schema import alerts

State = Literal["open", "resolved", "all"]
OPEN: Final = "open"
RESOLVED: Final = "resolved"
ALL: Final = "all"
STATES: tuple[State, ...] = (OPEN, RESOLVED, ALL)
Via = Literal["cli", "web"]
MAX_NOTE = 2000
_MAX_ID = 2**63 - 1


class UnknownAlert(NotFound):
    slug = "no-such-alert"
    title = "无此告警 No such alert"


class AlreadyResolved(Conflict):
    slug = "alert-already-resolved"
    title = "告警已处理 Alert already resolved"


@dataclass(frozen=True)
class Alert:
    id: int
    origin: str
    kind: str
    detail: str
    evidence: list[str]  # the signed checkpoints (notes) kept as evidence, as stored
    created_at: str
    resolved_at: str | None
    resolved_by: str | None
    resolved_via: str | None
    note: str | None
    city: str | None = None  # the member whose log `origin` is, when the alliance file names it
    name: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def state(self) -> str:
        return OPEN if self.open else RESOLVED

    @property
    def stops_following(self) -> bool:
        """An open fork alert stops the follower of that member."""
        return self.open and self.kind == FORK

    @property
    def member(self) -> str:
        """The member as people read it: 枣庄 370400, or the origin when unknown."""
        return f"{self.name} {self.city}" if self.name and self.city else self.origin

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "city": self.city,
            "name": self.name,
            "kind": self.kind,
            "detail": self.detail,
            "evidence": self.evidence,
            "created_at": self.created_at,
            "state": self.state,
            "stops_following": self.stops_following,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "resolved_via": self.resolved_via,
            "note": self.note,
        }


Members = dict[str, tuple[str, str]]  # log origin -> (city code, city name)


def members_of(alliance: Alliance | None) -> Members:
    """Each member's log origin with its city code and name, from the alliance file."""
    if alliance is None:
        return {}
    return {m.log_verifier().name: (m.city, m.name) for m in alliance.members}


def _evidence(text: str) -> list[str]:
    """The stored evidence: a JSON array of signed notes (anything else shown as it is)."""
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return [text]


def _alert(row: Any, members: Members) -> Alert:
    city, name = members.get(row.origin, (None, None))
    return Alert(
        id=row.id,
        origin=row.origin,
        kind=row.kind,
        detail=row.detail,
        evidence=_evidence(row.evidence),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolved_via=row.resolved_via,
        note=row.resolution_note,
        city=city,
        name=name,
    )


@dataclass(frozen=True)
class Evidence:
    """One signed checkpoint kept as evidence, opened with the log's key from the alliance
    file: its size and root, or why it does not verify (`problem`)."""

    note: str
    size: int | None
    root: str | None  # base64, as checkpoints write it
    problem: str | None


def open_evidence(alert: Alert, verifier: signed_note.Verifier | None) -> list[Evidence]:
    """Each note of the evidence checked against `verifier` (the key of the alert's log): for
    a fork, two notes that both verify yet name two roots for one size, or a tree that does
    not extend the other, are the proof anybody can check with the alliance file."""
    out = []
    for text in alert.evidence:
        if verifier is None:
            out.append(Evidence(text, None, None, "no key for this log in the alliance file"))
            continue
        try:
            checkpoint = cp.open_signed(text, verifier)
        except cp.CheckpointError as e:
            out.append(Evidence(text, None, None, str(e)))
            continue
        root = base64.b64encode(checkpoint.root).decode()
        out.append(Evidence(text, checkpoint.size, root, None))
    return out


def list_alerts(
    engine: Engine, state: str = OPEN, members: Members | None = None, limit: int | None = None
) -> list[Alert]:
    """Alerts in `state` (open, resolved or all), oldest first; with a `limit`, the newest
    that many of them."""
    if state not in STATES:
        raise Invalid(f"state must be one of {', '.join(STATES)}, not {state!r}", "state")
    q = select(alerts).order_by(alerts.c.id.desc())
    if state == OPEN:
        q = q.where(alerts.c.resolved_at.is_(None))
    elif state == RESOLVED:
        q = q.where(alerts.c.resolved_at.is_not(None))
    if limit is not None:
        q = q.limit(limit)
    with engine.connect() as conn:
        rows = list(conn.execute(q))
    return [_alert(r, members or {}) for r in reversed(rows)]


def get_alert(engine: Engine, alert_id: int, members: Members | None = None) -> Alert | None:
    if not 1 <= alert_id <= _MAX_ID:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    return None if row is None else _alert(row, members or {})


def unknown(alert_id: int) -> UnknownAlert:
    """The refusal for an id no alert has."""
    return UnknownAlert(
        f"没有编号为 {alert_id} 的告警 no alert with id {alert_id}: every alert, resolved "
        "ones too, is in `lunan alerts list --all` and GET /api/v1/alerts?state=all"
    )


def check_note(note: str) -> str:
    """The note, stripped: required, at most MAX_NOTE characters."""
    text = note.strip()
    if not text:
        raise Invalid(
            "处理说明不能为空 a note is required: say what was found and what was decided",
            "note",
        )
    if len(text) > MAX_NOTE:
        raise Invalid(
            f"处理说明最多{MAX_NOTE}个字 the note may be at most {MAX_NOTE} characters", "note"
        )
    return text


def resolve(
    engine: Engine,
    alert_id: int,
    note: str,
    by: str,
    via: Via,
    members: Members | None = None,
) -> Alert:
    """Resolve an open alert: record who, when, through what and the note; keep the evidence.

    Refused with nothing changed: UnknownAlert (404), AlreadyResolved (409, also when another
    operator resolved it a moment before), Invalid (422) for an empty or overlong note."""
    text = check_note(note)
    if get_alert(engine, alert_id) is None:
        raise unknown(alert_id)
    with engine.begin() as conn:
        # Compare-and-set: of two operators resolving at once, one wins and the other learns.
        done = conn.execute(
            update(alerts)
            .where(alerts.c.id == alert_id, alerts.c.resolved_at.is_(None))
            .values(
                resolved_at=now_shanghai(),
                resolved_by=by,
                resolved_via=via,
                resolution_note=text,
            )
        )
        resolved = done.rowcount == 1
    found = get_alert(engine, alert_id, members)
    assert found is not None  # alerts are never deleted
    if not resolved:
        raise AlreadyResolved(
            f"告警 {alert_id} 已于 {found.resolved_at} 由 {found.resolved_by} 处理 "
            f"alert {alert_id} was already resolved at {found.resolved_at} by {found.resolved_by}"
        )
    return found
