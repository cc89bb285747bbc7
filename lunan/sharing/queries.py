"""What pages, the API, the exchange and the apps read about data sharing, from the projections.

Anything that combines logs or depends on the day is worked out here, when asked, never stored:
a request's state (its decision is in the provider's log, its withdrawal in the requester's),
its deadline in working days (by the alliance's calendar, lunan.calendar) and whether it is
overdue, and an agreement's status on a given day (revoked, suspended, expired, not yet valid,
active). The exchange (lunan.exchange) and the tourism gate rely on these names:
`dataset_by_service`, `dataset_by_code`, `datasets`, `agreement`, `agreements`, `requests`,
`active_agreement`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, select

from lunan.calendar.queries import work_calendar
from lunan.clock import SHANGHAI
from lunan.events.context import loads
from lunan.events.tables import p_nodes
from lunan.sharing.models import CATEGORIES, DataField
from lunan.sharing.tables import (
    p_sharing_acks,
    p_sharing_agreement_changes,
    p_sharing_agreements,
    p_sharing_datasets,
    p_sharing_refusals,
    p_sharing_requests,
)
from lunan.sharing.workdays import DEADLINE_WORKING_DAYS, WorkCalendar

AgreementStatus = Literal["active", "suspended", "revoked", "expired", "not-yet-valid"]
AGREEMENT_STATUSES: tuple[AgreementStatus, ...] = (
    "active",
    "suspended",
    "revoked",
    "expired",
    "not-yet-valid",
)
RequestStatus = Literal["pending", "withdrawn", "approved", "refused"]
REQUEST_STATUSES: tuple[RequestStatus, ...] = ("pending", "withdrawn", "approved", "refused")
# The EU access-right vocabulary, one per sharing category (DCAT-AP dct:accessRights).
ACCESS_RIGHTS = dict(zip(CATEGORIES, ("PUBLIC", "RESTRICTED", "NON_PUBLIC"), strict=True))


def today_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def id_key(object_id: str) -> tuple[str, str, int]:
    """Sort key: by kind, city, then number (dataset/371300/10 after dataset/371300/9)."""
    kind, city, local = [*object_id.split("/", 2), "", ""][:3]
    return (kind, city, int(local) if local.isdigit() else -1)


def _names(conn: Connection) -> dict[str, str]:
    return {r.city: r.name for r in conn.execute(select(p_nodes.c.city, p_nodes.c.name))}


# --- the catalog ----------------------------------------------------------------------------


class DatasetView(BaseModel):
    id: str
    provider: str
    provider_name: str
    code: str
    name: str
    department: str
    description: str
    fields: list[DataField]
    category: str
    access_rights: str  # PUBLIC | RESTRICTED | NON_PUBLIC
    legal_basis: str
    update_cycle: str
    response_working_days: int
    modes: list[str]
    service: str
    answer: str  # rows | exists
    keys: list[str]
    sample: bool
    status: str  # published | withdrawn
    withdrawn_reason: str | None
    created_time: str
    updated_time: str

    def field(self, name: str) -> DataField | None:
        return next((f for f in self.fields if f.name == name), None)


def _dataset(r: Any, names: dict[str, str]) -> DatasetView:
    return DatasetView(
        id=r.id,
        provider=r.provider,
        provider_name=names.get(r.provider, r.provider),
        code=r.code,
        name=r.name,
        department=r.department,
        description=r.description,
        fields=[DataField(**f) for f in loads(r.fields)],
        category=r.category,
        access_rights=ACCESS_RIGHTS[r.category],
        legal_basis=r.legal_basis,
        update_cycle=r.update_cycle,
        response_working_days=r.response_working_days,
        modes=loads(r.modes),
        service=r.service,
        answer=r.answer,
        keys=loads(r.keys),
        sample=bool(r.sample),
        status=r.status,
        withdrawn_reason=r.withdrawn_reason,
        created_time=r.created_time,
        updated_time=r.updated_time,
    )


def _one_dataset(engine: Engine, *where: Any) -> DatasetView | None:
    with engine.connect() as conn:
        row = conn.execute(select(p_sharing_datasets).where(*where)).first()
        return None if row is None else _dataset(row, _names(conn))


def dataset(engine: Engine, dataset_id: str) -> DatasetView | None:
    return _one_dataset(engine, p_sharing_datasets.c.id == dataset_id)


def dataset_by_code(engine: Engine, code: str) -> DatasetView | None:
    """The entry with this resource code (unique alliance-wide: it starts with the city)."""
    return _one_dataset(engine, p_sharing_datasets.c.code == code)


def dataset_by_service(engine: Engine, provider_city: str, service: str) -> DatasetView | None:
    """The provider's entry served at `/exchange/v1/{service}` (unique per provider)."""
    return _one_dataset(
        engine,
        p_sharing_datasets.c.provider == provider_city,
        p_sharing_datasets.c.service == service,
    )


def _matches(d: DatasetView, q: str) -> bool:
    needle = q.strip().casefold()
    texts = [d.code, d.name, d.department, d.description, d.provider_name, d.service]
    texts += [f"{f.name} {f.description}" for f in d.fields]
    return any(needle in t.casefold() for t in texts)


def datasets(
    engine: Engine,
    city: str | None = None,
    department: str | None = None,
    category: str | None = None,
    q: str | None = None,
    include_withdrawn: bool = False,
) -> list[DatasetView]:
    """The alliance-wide catalog, by resource code; filters combine (AND). `department`
    matches a part of the name; `q` searches codes, names, descriptions and fields."""
    query = select(p_sharing_datasets)
    if city is not None:
        query = query.where(p_sharing_datasets.c.provider == city)
    if category is not None:
        query = query.where(p_sharing_datasets.c.category == category)
    if not include_withdrawn:
        query = query.where(p_sharing_datasets.c.status == "published")
    with engine.connect() as conn:
        names = _names(conn)
        views = [
            _dataset(r, names) for r in conn.execute(query.order_by(p_sharing_datasets.c.code))
        ]
    if department:
        views = [d for d in views if department.strip() in d.department]
    if q:
        views = [d for d in views if _matches(d, q)]
    return views


def departments(engine: Engine, city: str | None = None) -> list[str]:
    """Provider departments that have published entries, for a filter's choices."""
    return sorted({d.department for d in datasets(engine, city=city)})


# --- agreements -----------------------------------------------------------------------------


class AgreementChangeView(BaseModel):
    change: str  # granted | suspended | resumed | revoked
    reason: str
    time: str


class SharingAgreementView(BaseModel):
    id: str
    provider: str
    provider_name: str
    requester: str
    requester_name: str
    request: str
    dataset: DatasetView
    service: str
    fields: list[str]
    purpose: str
    scenario: str
    row_filter: dict[str, list[str]]
    period_start: dt.date
    period_end: dt.date
    quota: int
    reason: str
    status: AgreementStatus  # on the day asked about
    acknowledged: bool  # the requester's log records it
    acknowledgement: str | None
    granted_at: str
    history: list[AgreementChangeView]


# The name other modules use; the class has a name of its own so that the API description
# does not confuse it with governance's agreements (lunan.governance.queries.AgreementView).
AgreementView = SharingAgreementView


def agreement_status(
    stored: str, period_start: dt.date, period_end: dt.date, today: dt.date
) -> AgreementStatus:
    """Revocation is final; an agreement past its period has expired, whatever else; then a
    suspension; then the period decides (valid from its first day through its last)."""
    if stored == "revoked":
        return "revoked"
    if today > period_end:
        return "expired"
    if stored == "suspended":
        return "suspended"
    if today < period_start:
        return "not-yet-valid"
    return "active"


def _agreement_views(conn: Connection, rows: Iterable[Any], today: dt.date) -> list[AgreementView]:
    rows = list(rows)
    if not rows:
        return []
    names = _names(conn)
    ids = [r.id for r in rows]
    wanted = {r.dataset for r in rows}
    sets = {
        r.id: _dataset(r, names)
        for r in conn.execute(select(p_sharing_datasets).where(p_sharing_datasets.c.id.in_(wanted)))
    }
    acks: dict[str, str] = {}
    q = select(p_sharing_acks).where(p_sharing_acks.c.agreement.in_(ids))
    for a in conn.execute(q.order_by(p_sharing_acks.c.id)):
        acks.setdefault(a.agreement, a.id)
    history: dict[str, list[AgreementChangeView]] = {}
    q2 = select(p_sharing_agreement_changes).where(p_sharing_agreement_changes.c.agreement.in_(ids))
    for c in conn.execute(q2.order_by(p_sharing_agreement_changes.c.idx)):
        history.setdefault(c.agreement, []).append(
            AgreementChangeView(change=c.change, reason=c.reason, time=c.time)
        )
    views = []
    for r in rows:
        start, end = dt.date.fromisoformat(r.period_start), dt.date.fromisoformat(r.period_end)
        views.append(
            AgreementView(
                id=r.id,
                provider=r.provider,
                provider_name=names.get(r.provider, r.provider),
                requester=r.requester,
                requester_name=names.get(r.requester, r.requester),
                request=r.request,
                dataset=sets[r.dataset],
                service=r.service,
                fields=loads(r.fields),
                purpose=r.purpose,
                scenario=r.scenario,
                row_filter=loads(r.row_filter),
                period_start=start,
                period_end=end,
                quota=r.quota,
                reason=r.reason,
                status=agreement_status(r.status, start, end, today),
                acknowledged=r.id in acks,
                acknowledgement=acks.get(r.id),
                granted_at=r.granted_time,
                history=history.get(r.id, []),
            )
        )
    return views


def agreement(
    engine: Engine, agreement_id: str, today: dt.date | None = None
) -> AgreementView | None:
    """The agreement with its status on `today` (default: today in Shanghai)."""
    q = select(p_sharing_agreements).where(p_sharing_agreements.c.id == agreement_id)
    with engine.connect() as conn:
        views = _agreement_views(conn, conn.execute(q), today or today_shanghai())
    return views[0] if views else None


def agreements(
    engine: Engine,
    provider: str | None = None,
    requester: str | None = None,
    status: str | None = None,
    today: dt.date | None = None,
    dataset: str | None = None,
    request: str | None = None,
) -> list[AgreementView]:
    """Agreements, newest grant first within each provider; `status` is on `today`."""
    q = select(p_sharing_agreements)
    for column, value in (
        (p_sharing_agreements.c.provider, provider),
        (p_sharing_agreements.c.requester, requester),
        (p_sharing_agreements.c.dataset, dataset),
        (p_sharing_agreements.c.request, request),
    ):
        if value is not None:
            q = q.where(column == value)
    with engine.connect() as conn:
        views = _agreement_views(conn, conn.execute(q), today or today_shanghai())
    views.sort(key=lambda v: id_key(v.id))
    return [v for v in views if status is None or v.status == status]


def active_agreement(
    engine: Engine, requester: str, provider: str, service: str, today: dt.date | None = None
) -> AgreementView | None:
    """The requester's agreement for the provider's service that is active today (the
    latest granted, if several are)."""
    found = [
        a
        for a in agreements(engine, provider=provider, requester=requester, today=today)
        if a.service == service and a.status == "active"
    ]
    return found[-1] if found else None


# --- requests -------------------------------------------------------------------------------


class RequestView(BaseModel):
    id: str
    requester: str
    requester_name: str
    provider: str
    provider_name: str
    dataset: str
    dataset_code: str
    dataset_name: str
    fields: list[str]
    purpose: str
    scenario: str
    row_filter: dict[str, list[str]]
    period_start: dt.date
    period_end: dt.date
    legal_basis: str
    volume: int
    consent_required: bool
    quota: int
    category: str  # 无条件共享 (approved at once) | 有条件共享 (the provider decides)
    note: str
    filed_at: str
    received_on: dt.date
    due: dt.date  # the provider's reply is due by the end of this day
    # The count to `due` crosses a year with neither a built-in nor a published calendar,
    # counted Monday to Friday only (按周一至周五估算): `due` may move once it is published.
    deadline_estimated: bool
    working_days_left: int  # until `due`, from the day asked about; negative when late
    overdue: bool  # still pending after `due`
    status: RequestStatus
    decision: str | None  # the agreement or refusal
    decided_at: str | None
    decision_reason: str | None
    withdrawn_reason: str | None


def _decisions(conn: Connection, ids: list[str]) -> dict[str, tuple[str, str, str, str]]:
    """request → (status, decision id, time, reason), from the provider logs."""
    out: dict[str, tuple[str, str, str, str]] = {}
    q = select(p_sharing_agreements).where(p_sharing_agreements.c.request.in_(ids))
    for a in conn.execute(q):
        out[a.request] = ("approved", a.id, a.granted_time, a.reason)
    q2 = select(p_sharing_refusals).where(p_sharing_refusals.c.request.in_(ids))
    for r in conn.execute(q2):
        out.setdefault(r.request, ("refused", r.id, r.time, r.reason))
    return out


def _request_view(
    r: Any,
    names: dict[str, str],
    sets: dict[str, tuple[str, str, int]],
    decision: tuple[str, str, str, str] | None,
    today: dt.date,
    working_days: int | None,
    calendar: WorkCalendar,
) -> RequestView:
    received = dt.date.fromisoformat(r.received_on)
    code, name, entry_days = sets.get(r.dataset, ("", "", DEADLINE_WORKING_DAYS))
    due = calendar.add_working_days(received, working_days or entry_days)
    status: RequestStatus
    if decision is not None:
        status = "approved" if decision[0] == "approved" else "refused"
    else:
        status = "withdrawn" if r.status == "withdrawn" else "pending"
    return RequestView(
        id=r.id,
        requester=r.requester,
        requester_name=names.get(r.requester, r.requester),
        provider=r.provider,
        provider_name=names.get(r.provider, r.provider),
        dataset=r.dataset,
        dataset_code=code,
        dataset_name=name,
        fields=loads(r.fields),
        purpose=r.purpose,
        scenario=r.scenario,
        row_filter=loads(r.row_filter),
        period_start=dt.date.fromisoformat(r.period_start),
        period_end=dt.date.fromisoformat(r.period_end),
        legal_basis=r.legal_basis,
        volume=r.volume,
        consent_required=bool(r.consent_required),
        quota=r.quota,
        category=r.category,
        note=r.note,
        filed_at=r.filed_time,
        received_on=received,
        due=due,
        deadline_estimated=calendar.estimated(received, due),
        working_days_left=calendar.working_days_between(today, due),
        overdue=status == "pending" and today > due,
        status=status,
        decision=decision[1] if decision else None,
        decided_at=decision[2] if decision else None,
        decision_reason=decision[3] if decision else None,
        withdrawn_reason=r.withdrawn_reason,
    )


def _request_views(
    conn: Connection, query: Any, today: dt.date, working_days: int | None
) -> list[RequestView]:
    rows = list(conn.execute(query))
    names = _names(conn)
    decided = _decisions(conn, [r.id for r in rows])
    d = p_sharing_datasets.c
    q = select(d.id, d.code, d.name, d.response_working_days)
    q = q.where(d.id.in_({r.dataset for r in rows}))
    sets = {e.id: (e.code, e.name, e.response_working_days) for e in conn.execute(q)}
    calendar = work_calendar(conn)  # built-in years, overridden by those the chair published
    views = [
        _request_view(r, names, sets, decided.get(r.id), today, working_days, calendar)
        for r in rows
    ]
    views.sort(key=lambda v: id_key(v.id))
    return views


def requests(
    engine: Engine,
    requester: str | None = None,
    provider: str | None = None,
    status: str | None = None,
    dataset: str | None = None,
    overdue: bool | None = None,
    today: dt.date | None = None,
    working_days: int | None = None,  # default: each entry's own answer time
) -> list[RequestView]:
    """Requests with their state, deadline and whether they are overdue on `today`;
    `requester`=this city gives "my requests", `provider`=this city "requests to me"."""
    q = select(p_sharing_requests)
    for column, value in (
        (p_sharing_requests.c.requester, requester),
        (p_sharing_requests.c.provider, provider),
        (p_sharing_requests.c.dataset, dataset),
    ):
        if value is not None:
            q = q.where(column == value)
    with engine.connect() as conn:
        views = _request_views(conn, q, today or today_shanghai(), working_days)
    return [
        v
        for v in views
        if (status is None or v.status == status) and (overdue is None or v.overdue == overdue)
    ]


def request(
    engine: Engine,
    request_id: str,
    today: dt.date | None = None,
    working_days: int | None = None,  # default: each entry's own answer time
) -> RequestView | None:
    q = select(p_sharing_requests).where(p_sharing_requests.c.id == request_id)
    with engine.connect() as conn:
        views = _request_views(conn, q, today or today_shanghai(), working_days)
    return views[0] if views else None
