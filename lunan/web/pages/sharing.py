"""数据共享 (data sharing): the alliance catalog, requests to this city and from it, the
agreements, the exchange record with its digests and proofs, and the tourism check as a form a
ticket office could use.

Who may (checked again by `lunan.sharing.actions` and the gate; the page only hides what would
be refused): anyone signed in with Permission.READ reads every page; a user with
Permission.MANAGE_DATA of this node's city files requests for other cities' entries, decides
the requests made to this city (approve with the same or narrower terms, or refuse with a
reason), suspends, resumes and revokes this city's agreements and withdraws this city's pending
requests; a user with Permission.TOURISM_CHECK of this node's city runs the tourism check, at
this city's attractions. A gate-only user (role `gate`: TOURISM_CHECK and nothing else) sees
the tourism page alone, without the other tabs.

Routes (GET unless said): /sharing, /sharing/catalog, /sharing/catalog/{city}/{n} (POST …/request),
/sharing/incoming, /sharing/outgoing, /sharing/requests/{city}/{n} (POST …/approve, …/refuse,
…/withdraw), /sharing/agreements, /sharing/agreements/{city}/{n} (POST …/suspend, …/resume,
…/revoke), /sharing/exchanges, /sharing/exchanges/{request id}, /sharing/tourism (and POST).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, func, select, union_all

from lunan.apps.tourism import gate, registry
from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.events.errors import ActionError, Forbidden
from lunan.events.registry import Rejected
from lunan.exchange import queries as exchange_queries
from lunan.exchange.tables import p_exchange_denied, p_exchange_received, p_exchange_served
from lunan.sharing import actions, queries
from lunan.sharing.models import (
    CATEGORIES,
    NOT_SHARED,
    AgreementChange,
    ApprovalTerms,
    Refusal,
    RequestFields,
)
from lunan.web.pages import render
from lunan.web.pages.deps import Form, Reader, SignedIn, forbidden, needs, not_found
from lunan.web.pages.forms import WHOLE, FormState, message, text, texts
from lunan.web.pages.i18n import Translator

router = APIRouter(include_in_schema=False)

DataManager = Annotated[User, Depends(needs(Permission.MANAGE_DATA))]
Gatekeeper = Annotated[User, Depends(needs(Permission.TOURISM_CHECK))]


def _tourism_viewer(user: SignedIn) -> User:
    """Who may see the tourism page: readers, and the gate's users (TOURISM_CHECK)."""
    if user.can(Permission.READ) or user.can(Permission.TOURISM_CHECK):
        return user
    raise forbidden(
        f"需要“{Permission.READ.value}”权限 — requires the permission {Permission.READ.value!r}"
    )


TourismViewer = Annotated[User, Depends(_tourism_viewer)]
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

CITY = re.compile(r"^\d{6}$")
NUMBER = re.compile(r"^\d{1,15}$")
EXCHANGE_ID = re.compile(r"^[0-9a-f]{32}$")
FILTER_LINE = re.compile(r"^([^=＝:：]+)[=＝:：](.+)$")
FILTER_SPLIT = re.compile(r"[,，、;；\s]+")
RECENT = 30  # exchanges listed on the exchange record

# The area's tabs: key, path, label (zh, translated when shown).
TABS = (
    ("home", "/sharing", "概览"),
    ("catalog", "/sharing/catalog", "共享目录"),
    ("incoming", "/sharing/incoming", "向我申请"),
    ("outgoing", "/sharing/outgoing", "我的申请"),
    ("agreements", "/sharing/agreements", "共享协议"),
    ("exchanges", "/sharing/exchanges", "交换记录"),
    ("tourism", "/sharing/tourism", "旅游核验"),
)
# What things are called, and the colour of their badge.
REQUEST_STATES = {
    "pending": ("待审批", "yellow"),
    "approved": ("已批准", "green"),
    "refused": ("不予批准", "red"),
    "withdrawn": ("已撤回", "grey"),
}
AGREEMENT_STATES = {
    "active": ("有效", "green"),
    "suspended": ("已暂停", "yellow"),
    "revoked": ("已终止", "red"),
    "expired": ("已到期", "grey"),
    "not-yet-valid": ("未生效", "yellow"),
}
CATEGORY_COLOURS = {"无条件共享": "green", "有条件共享": "yellow", "不予共享": "red"}
FIELD_TYPES = {
    "text": "文本",
    "integer": "整数",
    "decimal": "小数",
    "date": "日期",
    "boolean": "是/否",
    "resident_id": "身份证号",
    "division_code": "行政区划代码",
}
MODES = {"api": "接口查询", "file": "文件下载"}
RECORD_KINDS = {"served": "已提供", "denied": "已拒绝", "received": "已接收"}
AGREEMENT_CHANGES = {"granted": "批准", "suspended": "暂停", "resumed": "恢复", "revoked": "终止"}
SIDES = {"mine": "本市相关", "provider": "本市提供", "requester": "本市获取", "all": "全联盟"}
# change → (its form's title, the button, who it is for)
CHANGE_FORMS = {
    "suspend": ("暂停协议", "暂停"),
    "resume": ("恢复协议", "恢复"),
    "revoke": ("终止协议", "终止"),
}
CHANGES_FROM = {"active": ("suspend", "revoke"), "suspended": ("resume", "revoke")}
DONE = {
    "filed": "共享申请已提交",
    "approved": "已批准，共享协议已生成",
    "refused": "已不予批准",
    "withdrawn": "申请已撤回",
    "suspend": "协议已暂停",
    "resume": "协议已恢复",
    "revoke": "协议已终止",
}
LABELS = {
    "request_states": REQUEST_STATES,
    "agreement_states": AGREEMENT_STATES,
    "category_colours": CATEGORY_COLOURS,
    "field_types": FIELD_TYPES,
    "modes": MODES,
    "record_kinds": RECORD_KINDS,
    "agreement_changes": AGREEMENT_CHANGES,
    "change_forms": CHANGE_FORMS,
}


def _translator(request: Request) -> Translator:
    return Translator(render.viewer_of(request).lang)


def _engine(request: Request) -> Engine:
    return render.parts_of(request).projector.engine


def _folded(request: Request) -> Engine:
    """The engine, once exchange records waiting to be folded are in (Writer.append with
    exclusive=False leaves them to the next catch-up): a clerk sees the check just made."""
    projector = render.parts_of(request).projector
    projector.catch_up()
    return projector.engine


def _own_city(request: Request) -> str:
    return render.parts_of(request).config.city


def may_manage(request: Request, user: User) -> bool:
    """Whether `user` may act on data sharing for this node's city."""
    return user.can(Permission.MANAGE_DATA) and user.city == _own_city(request)


def may_check(request: Request, user: User) -> bool:
    """Whether `user` may run this city's tourism check (its ticket office or gate)."""
    return user.can(Permission.TOURISM_CHECK) and user.city == _own_city(request)


def _page(tab: str, **context: Any) -> dict[str, Any]:
    return {"active": "sharing", "tab": tab, "tabs": TABS, **LABELS, **context}


def _object_id(kind: str, city: str, n: str, what: str) -> str:
    if not CITY.match(city) or not NUMBER.match(n):
        raise not_found(f"{what} {kind}/{city}/{n} 不存在")
    return f"{kind}/{city}/{int(n)}"


def url_of(object_id: str) -> str:
    """The page of a sharing object: data-request/370400/2 → /sharing/requests/370400/2."""
    kind, _, rest = object_id.partition("/")
    area = {"dataset": "catalog", "data-request": "requests", "data-agreement": "agreements"}
    return f"/sharing/{area.get(kind, kind)}/{rest}"


def event_url(city: str, index: int) -> str:
    return f"/chain/events/{city}/{index}"


# --- forms: what was typed, and errors named by the domain's field paths -------------------------


def form_field(location: Iterable[Any] | str | None, known: Iterable[str]) -> str:
    """The form field an error is about: `period.end` → period_end, `fields[2]` → fields,
    `row_filter.姓名` → row_filter; anything else not on the form → the form as a whole."""
    if location is None:
        return WHOLE
    if isinstance(location, str):
        parts = [p for p in re.split(r"[.\[\]]", location) if p]
    else:
        parts = [str(p) for p in location]
    if not parts:
        return WHOLE
    if parts[0] == "period":
        return "period_end" if parts[1:2] == ["end"] else "period_start"
    return parts[0] if parts[0] in set(known) else WHOLE


def validate(state: FormState, model: type[M], data: dict[str, Any], _: Translator) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        for error in e.errors():
            state.add(form_field(error["loc"], state.values), message(error, _))
        return None


def attempt(state: FormState, action: Callable[[], T], _: Translator) -> T | None:
    """Run an action: a refusal becomes an error next to the field it names, except a 403
    (wrong role or city), which is a page of its own."""
    try:
        return action()
    except Forbidden as e:
        raise forbidden(e.message) from e
    except ActionError as e:
        state.add(form_field(e.field, state.values), e.message, e.status)
    except Rejected as e:
        state.add(WHOLE, _("事件被拒绝，请重试：{why}", why=e.detail), 409)
    return None


def filter_text(row_filter: dict[str, list[str]] | dict[str, tuple[str, ...]]) -> str:
    """A row filter as the form shows it: one line per field, `信息项=值1,值2`."""
    return "\n".join(f"{k}={','.join(v)}" for k, v in row_filter.items())


def parse_filter(typed: str, state: FormState, _: Translator) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i, line in enumerate(typed.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        m = FILTER_LINE.match(line)
        values = [v for v in FILTER_SPLIT.split(m.group(2)) if v] if m else []
        if m is None or not values:
            state.add("row_filter", _("第{n}行应为“信息项=值1,值2”", n=i))
            continue
        out.setdefault(m.group(1).strip(), []).extend(values)
    return out


def _int(value: str) -> str | None:
    """A number as typed (pydantic checks it), or None when left blank."""
    return value.replace(",", "").replace("，", "") or None


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what was left blank, so that pydantic says 必填 (or uses its default)."""
    return {k: v for k, v in data.items() if v not in (None, "")}


# --- the area's home -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    catalog: int
    own_catalog: int
    incoming_pending: int
    incoming_overdue: int
    outgoing_pending: int
    providing: int  # active agreements by which this city provides
    receiving: int  # active agreements by which this city is provided for
    exchange: exchange_queries.CityCounts | None


@router.get("/sharing", response_class=HTMLResponse)
def home(request: Request, _user: Reader) -> HTMLResponse:
    engine, city = _folded(request), _own_city(request)
    entries = queries.datasets(engine)
    incoming = queries.requests(engine, provider=city)
    outgoing = queries.requests(engine, requester=city)
    agreements = queries.agreements(engine, status="active")
    audit = exchange_queries.audit(engine, city=city)
    summary = Summary(
        catalog=len(entries),
        own_catalog=sum(1 for d in entries if d.provider == city),
        incoming_pending=sum(1 for r in incoming if r.status == "pending"),
        incoming_overdue=sum(1 for r in incoming if r.overdue),
        outgoing_pending=sum(1 for r in outgoing if r.status == "pending"),
        providing=sum(1 for a in agreements if a.provider == city),
        receiving=sum(1 for a in agreements if a.requester == city),
        exchange=next((c for c in audit.by_city if c.city == city), None),
    )
    pending = sorted((r for r in incoming if r.status == "pending"), key=lambda r: r.due)
    return render.render(
        request,
        "sharing.html",
        _page("home", summary=summary, pending=pending[:10]),
    )


# --- the catalog ---------------------------------------------------------------------------------

Text = Annotated[str, Query(max_length=100)]


@dataclass(frozen=True)
class CatalogFilters:
    q: str = ""
    city: str = ""
    department: str = ""
    category: str = ""

    def query(self) -> str:
        """The filters as a query string, for the DCAT-AP export link."""
        return urlencode({k: v for k, v in self.__dict__.items() if v})


@router.get("/sharing/catalog", response_class=HTMLResponse)
def catalog(
    request: Request,
    _user: Reader,
    q: Text = "",
    city: Text = "",
    department: Text = "",
    category: Text = "",
) -> HTMLResponse:
    engine = _engine(request)
    f = CatalogFilters(
        q=q.strip(),
        city=city if CITY.match(city) else "",
        department=department.strip(),
        category=category if category in CATEGORIES else "",
    )
    entries = queries.datasets(
        engine,
        city=f.city or None,
        department=f.department or None,
        category=f.category or None,
        q=f.q or None,
    )
    context = _page(
        "catalog",
        entries=entries,
        filters=f,
        departments=queries.departments(engine),
        categories=CATEGORIES,
    )
    template = "_sharing_catalog_table.html" if render.is_htmx(request) else "sharing_catalog.html"
    return render.render(request, template, context)


def requestable(dataset: queries.DatasetView) -> list[str]:
    """The fields a request may name (none of an entry that is 不予共享 as a whole)."""
    if dataset.category == NOT_SHARED:
        return []
    return [f.name for f in dataset.fields if f.category != NOT_SHARED]


def request_form(today: dt.date) -> FormState:
    """A blank request: no field chosen (least data by default), one year from today."""
    end = today.replace(year=today.year + 1) if (today.month, today.day) != (2, 29) else None
    end = (end or today.replace(day=28, year=today.year + 1)) - dt.timedelta(days=1)
    return FormState(
        "request",
        {
            "fields": [],
            "period_start": today.isoformat(),
            "period_end": end.isoformat(),
            "consent_required": "",
        },
    )


def entry_context(
    request: Request, user: User, dataset_id: str, state: FormState | None = None
) -> dict[str, Any]:
    engine, city = _engine(request), _own_city(request)
    dataset = queries.dataset(engine, dataset_id)
    if dataset is None:
        raise not_found(f"共享目录 {dataset_id} 不存在 — no catalog entry {dataset_id}")
    mine = [
        r for r in queries.requests(engine, dataset=dataset_id) if city in (r.requester, r.provider)
    ]
    agreements = [
        a
        for a in queries.agreements(engine, dataset=dataset_id)
        if city in (a.requester, a.provider)
    ]
    why_not = None
    if dataset.provider == city:
        why_not = "本市目录无需申请。"
    elif dataset.status != "published":
        why_not = "该目录已撤销，不能申请。"
    elif not requestable(dataset):
        why_not = "该目录不予共享，不能申请。"
    elif not may_manage(request, user):
        why_not = "申请需由本市具有数据共享办理权限的用户提交。"
    return _page(
        "catalog",
        dataset=dataset,
        requestable=requestable(dataset),
        requests=mine,
        agreements=agreements,
        why_not=why_not,
        form=state or request_form(queries.today_shanghai()),
        url=url_of(dataset_id),
    )


@router.get("/sharing/catalog/{city}/{n}", response_class=HTMLResponse)
def entry(request: Request, city: str, n: str, user: Reader) -> HTMLResponse:
    dataset_id = _object_id("dataset", city, n, "共享目录")
    return render.render(request, "sharing_entry.html", entry_context(request, user, dataset_id))


REQUEST_FIELDS = (
    "purpose",
    "scenario",
    "period_start",
    "period_end",
    "legal_basis",
    "volume",
    "quota",
    "row_filter",
    "received_on",
    "note",
)


@router.post("/sharing/catalog/{city}/{n}/request", response_class=HTMLResponse)
def file_request(request: Request, city: str, n: str, user: DataManager, form: Form) -> Response:
    dataset_id, _ = _object_id("dataset", city, n, "共享目录"), _translator(request)
    state = FormState("request", {k: text(form, k) for k in REQUEST_FIELDS})
    state.values["fields"] = texts(form, "fields")
    state.values["consent_required"] = text(form, "consent_required")
    state.values["row_filter"] = (form.get("row_filter") if form else "") or ""
    if not state.values["fields"]:
        state.add("fields", _("请至少选择一个信息项"))
    v = state.values
    data = _present(
        {
            "dataset": dataset_id,
            "fields": v["fields"],
            "purpose": v["purpose"],
            "scenario": v["scenario"],
            "row_filter": parse_filter(str(v["row_filter"]), state, _),
            "legal_basis": v["legal_basis"],
            "volume": _int(v["volume"]),
            "quota": _int(v["quota"]),
            "consent_required": v["consent_required"] == "1",
            "received_on": v["received_on"],
            "note": v["note"],
        }
    )
    data["period"] = _present({"start": v["period_start"], "end": v["period_end"]})
    fields = validate(state, RequestFields, data, _)
    request_id = None
    if fields is not None and state.ok:
        parts = render.parts_of(request)
        request_id = attempt(state, lambda: actions.file_request(parts, user, fields), _)
    if request_id is not None:
        target = f"{url_of(request_id)}?ok=filed"
        if render.is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    context = entry_context(request, user, dataset_id, state)
    if render.is_htmx(request):
        return render.render(request, "_sharing_request_form.html", context, status=state.status)
    return render.render(request, "sharing_entry.html", context, status=state.status)


# --- requests to this city and from it -----------------------------------------------------------

REQUEST_FILTERS = {
    "": "全部",
    "pending": "待审批",
    "overdue": "逾期",
    "approved": "已批准",
    "refused": "不予批准",
    "withdrawn": "已撤回",
}


def _listed(views: list[queries.RequestView], show: str) -> list[queries.RequestView]:
    """Pending first, the nearest deadline first; then the decided, newest first."""
    if show == "overdue":
        views = [r for r in views if r.overdue]
    elif show:
        views = [r for r in views if r.status == show]
    pending = sorted((r for r in views if r.status == "pending"), key=lambda r: (r.due, r.id))
    others = sorted((r for r in views if r.status != "pending"), key=lambda r: r.filed_at)
    return pending + list(reversed(others))


def _requests_page(request: Request, user: User, tab: str, show: str) -> HTMLResponse:
    engine, city = _engine(request), _own_city(request)
    show = show if show in REQUEST_FILTERS else ""
    if tab == "incoming":
        views = queries.requests(engine, provider=city)
    else:
        views = queries.requests(engine, requester=city)
    return render.render(
        request,
        "sharing_requests.html",
        _page(
            tab,
            heading="向我申请" if tab == "incoming" else "我的申请",
            requests=_listed(views, show),
            show=show,
            shows=REQUEST_FILTERS,
            counts={
                "pending": sum(1 for r in views if r.status == "pending"),
                "overdue": sum(1 for r in views if r.overdue),
            },
            may_act=may_manage(request, user),
        ),
    )


@router.get("/sharing/incoming", response_class=HTMLResponse)
def incoming(request: Request, user: Reader, show: Text = "") -> HTMLResponse:
    return _requests_page(request, user, "incoming", show)


@router.get("/sharing/outgoing", response_class=HTMLResponse)
def outgoing(request: Request, user: Reader, show: Text = "") -> HTMLResponse:
    return _requests_page(request, user, "outgoing", show)


def approve_form(view: queries.RequestView) -> FormState:
    return FormState(
        "approve",
        {
            "fields": list(view.fields),
            "period_start": view.period_start.isoformat(),
            "period_end": view.period_end.isoformat(),
            "quota": str(view.quota),
            "row_filter": filter_text(view.row_filter),
            "reason": "",
        },
    )


def request_context(
    request: Request,
    user: User,
    request_id: str,
    forms: dict[str, FormState] | None = None,
    done: str = "",
) -> dict[str, Any]:
    engine, city = _engine(request), _own_city(request)
    view = queries.request(engine, request_id)
    if view is None:
        raise not_found(f"共享申请 {request_id} 不存在 — no sharing request {request_id}")
    dataset = queries.dataset(engine, view.dataset)
    agreement = None
    if view.status == "approved" and view.decision is not None:
        agreement = queries.agreement(engine, view.decision)
    manage = may_manage(request, user)
    pending = view.status == "pending"
    states = {
        "approve": approve_form(view),
        "refuse": FormState("refuse"),
        "withdraw": FormState("withdraw"),
        **(forms or {}),
    }
    return _page(
        "incoming" if view.provider == city else "outgoing",
        req=view,
        dataset=dataset,
        agreement=agreement,
        may_decide=manage and pending and view.provider == city,
        may_withdraw=manage and pending and view.requester == city,
        forms=states,
        done=DONE.get(done, ""),
        url=url_of(request_id),
    )


@router.get("/sharing/requests/{city}/{n}", response_class=HTMLResponse)
def request_page(
    request: Request, city: str, n: str, user: Reader, ok: Annotated[str, Query(max_length=20)] = ""
) -> HTMLResponse:
    request_id = _object_id("data-request", city, n, "共享申请")
    return render.render(
        request, "sharing_request.html", request_context(request, user, request_id, done=ok)
    )


def _after_decision(
    request: Request, user: User, request_id: str, state: FormState, written: str | None
) -> Response:
    """After a form on the request page: the agreement (approved), the refreshed request, or
    the form again with its errors."""
    if state.ok and written is not None:
        target = (
            f"{url_of(written)}?ok=approved"
            if state.name == "approve"
            else f"{url_of(request_id)}?ok={'refused' if state.name == 'refuse' else 'withdrawn'}"
        )
        if render.is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    context = request_context(request, user, request_id, forms={state.name: state})
    if render.is_htmx(request):
        headers = {"HX-Retarget": f"#form-{state.name}", "HX-Reswap": "outerHTML"}
        return render.render(
            request,
            f"_sharing_form_{state.name}.html",
            context,
            status=state.status,
            headers=headers,
        )
    return render.render(request, "sharing_request.html", context, status=state.status)


@router.post("/sharing/requests/{city}/{n}/approve", response_class=HTMLResponse)
def approve(request: Request, city: str, n: str, user: DataManager, form: Form) -> Response:
    request_id, _ = _object_id("data-request", city, n, "共享申请"), _translator(request)
    names = ("period_start", "period_end", "quota", "reason")
    state = FormState("approve", {k: text(form, k) for k in names})
    state.values["fields"] = texts(form, "fields")
    state.values["row_filter"] = (form.get("row_filter") if form else "") or ""
    if not state.values["fields"]:
        state.add("fields", _("请至少选择一个信息项"))
    v = state.values
    asked = queries.request(_engine(request), request_id)
    if asked is None:
        raise not_found(f"共享申请 {request_id} 不存在 — no sharing request {request_id}")
    # A term left blank is the request's own (only what is given can narrow it).
    data = _present({"fields": v["fields"], "quota": _int(v["quota"]), "reason": v["reason"]})
    data["period"] = {
        "start": v["period_start"] or asked.period_start.isoformat(),
        "end": v["period_end"] or asked.period_end.isoformat(),
    }
    data["row_filter"] = parse_filter(str(v["row_filter"]), state, _)
    terms = validate(state, ApprovalTerms, data, _)
    written = None
    if terms is not None and state.ok:
        parts = render.parts_of(request)
        written = attempt(state, lambda: actions.approve_request(parts, user, request_id, terms), _)
    return _after_decision(request, user, request_id, state, written)


@router.post("/sharing/requests/{city}/{n}/refuse", response_class=HTMLResponse)
def refuse(request: Request, city: str, n: str, user: DataManager, form: Form) -> Response:
    request_id, _ = _object_id("data-request", city, n, "共享申请"), _translator(request)
    state = FormState("refuse", {"reason": text(form, "reason")})
    body = validate(state, Refusal, {"request": request_id, **_present(state.values)}, _)
    written = None
    if body is not None:
        parts = render.parts_of(request)
        written = attempt(
            state, lambda: actions.refuse_request(parts, user, request_id, body.reason), _
        )
    return _after_decision(request, user, request_id, state, written)


@router.post("/sharing/requests/{city}/{n}/withdraw", response_class=HTMLResponse)
def withdraw(request: Request, city: str, n: str, user: DataManager, form: Form) -> Response:
    request_id, _ = _object_id("data-request", city, n, "共享申请"), _translator(request)
    state = FormState("withdraw", {"reason": text(form, "reason")})
    if len(state.values["reason"]) > 2000:
        state.add("reason", _("最多{n}个字", n=2000))
    written = None
    if state.ok:
        parts = render.parts_of(request)
        reason = state.values["reason"]
        written = attempt(
            state, lambda: actions.withdraw_request(parts, user, request_id, reason), _
        )
    return _after_decision(request, user, request_id, state, written)


# --- agreements ----------------------------------------------------------------------------------


@router.get("/sharing/agreements", response_class=HTMLResponse)
def agreements_page(
    request: Request, _user: Reader, side: Text = "mine", status: Text = ""
) -> HTMLResponse:
    engine, city = _engine(request), _own_city(request)
    side = side if side in SIDES else "mine"
    status = status if status in AGREEMENT_STATES else ""
    views = queries.agreements(engine, status=status or None)
    if side == "mine":
        views = [a for a in views if city in (a.provider, a.requester)]
    elif side == "provider":
        views = [a for a in views if a.provider == city]
    elif side == "requester":
        views = [a for a in views if a.requester == city]
    views.sort(key=lambda a: a.granted_at, reverse=True)
    counts = {a.agreement: a for a in exchange_queries.audit(engine).by_agreement}
    return render.render(
        request,
        "sharing_agreements.html",
        _page(
            "agreements",
            agreements=views,
            side=side,
            sides=SIDES,
            status=status,
            counts=counts,
        ),
    )


def agreement_context(
    request: Request,
    user: User,
    agreement_id: str,
    forms: dict[str, FormState] | None = None,
    done: str = "",
) -> dict[str, Any]:
    engine, city = _folded(request), _own_city(request)
    view = queries.agreement(engine, agreement_id)
    if view is None:
        raise not_found(f"共享协议 {agreement_id} 不存在 — no sharing agreement {agreement_id}")
    changes = CHANGES_FROM.get(view.status, ()) if view.provider == city else ()
    allowed = changes if may_manage(request, user) else ()
    return _page(
        "agreements",
        agreement=view,
        audit=exchange_queries.audit(engine, agreement=agreement_id),
        exchanges=recent_exchanges(engine, agreement=agreement_id, limit=10),
        changes=allowed,
        forms={c: (forms or {}).get(c) or FormState(c) for c in allowed},
        done=DONE.get(done, ""),
        url=url_of(agreement_id),
    )


@router.get("/sharing/agreements/{city}/{n}", response_class=HTMLResponse)
def agreement_page(
    request: Request, city: str, n: str, user: Reader, ok: Annotated[str, Query(max_length=20)] = ""
) -> HTMLResponse:
    agreement_id = _object_id("data-agreement", city, n, "共享协议")
    context = agreement_context(request, user, agreement_id, done=ok)
    return render.render(request, "sharing_agreement.html", context)


CHANGE_ACTIONS: dict[str, Callable[..., str]] = {
    "suspend": actions.suspend_agreement,
    "resume": actions.resume_agreement,
    "revoke": actions.revoke_agreement,
}


@router.post("/sharing/agreements/{city}/{n}/{change}", response_class=HTMLResponse)
def change_agreement(
    request: Request, city: str, n: str, change: str, user: DataManager, form: Form
) -> Response:
    if change not in CHANGE_ACTIONS:
        raise not_found(f"没有“{change}”操作")
    agreement_id, _ = _object_id("data-agreement", city, n, "共享协议"), _translator(request)
    state = FormState(change, {"reason": text(form, "reason")})
    body = validate(state, AgreementChange, _present(state.values), _)
    if body is not None:
        parts = render.parts_of(request)
        act = CHANGE_ACTIONS[change]
        attempt(state, lambda: act(parts, user, agreement_id, body.reason), _)
    if state.ok:
        if render.is_htmx(request):
            context = agreement_context(request, user, agreement_id, done=change)
            return render.render(request, "_sharing_agreement.html", context)
        return RedirectResponse(f"{url_of(agreement_id)}?ok={change}", status_code=303)
    context = agreement_context(request, user, agreement_id, forms={change: state})
    if render.is_htmx(request):
        headers = {"HX-Retarget": f"#form-{change}", "HX-Reswap": "outerHTML"}
        context["change"] = change
        return render.render(
            request, "_sharing_form_change.html", context, status=state.status, headers=headers
        )
    return render.render(request, "sharing_agreement.html", context, status=state.status)


# --- the exchange record -------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One exchange as both sides logged it (one side only, until the other's log arrives)."""

    request_id: str
    time: str
    records: list[exchange_queries.Record]

    def side(self, kind: str) -> exchange_queries.Record | None:
        return next((r for r in self.records if r.kind == kind), None)

    @property
    def provider_record(self) -> exchange_queries.Record | None:
        return self.side("served") or self.side("denied")

    @property
    def requester_record(self) -> exchange_queries.Record | None:
        return self.side("received")

    @property
    def first(self) -> exchange_queries.Record:
        return self.provider_record or self.records[0]

    @property
    def digests_agree(self) -> bool | None:
        """Both sides logged the same digests (None until both sides' records are here)."""
        p, r = self.provider_record, self.requester_record
        if p is None or r is None:
            return None
        same = p.request_digest == r.request_digest
        return same and (p.response_digest is None or p.response_digest == r.response_digest)


def recent_exchanges(
    engine: Engine, agreement: str | None = None, city: str | None = None, limit: int = RECENT
) -> list[Exchange]:
    """The latest exchanges (by the time of their latest record), with both sides' records.
    lunan.exchange.queries gives one exchange's records; this finds which ones to show."""
    parts = []
    for table, provider, requester in (
        (p_exchange_served, p_exchange_served.c.origin, p_exchange_served.c.requester),
        (p_exchange_denied, p_exchange_denied.c.origin, p_exchange_denied.c.requester),
        (p_exchange_received, p_exchange_received.c.provider, p_exchange_received.c.origin),
    ):
        q = select(table.c.request_id.label("rid"), table.c.time.label("time"))
        if agreement is not None:
            q = q.where(table.c.agreement == agreement)
        if city is not None:
            q = q.where((provider == city) | (requester == city))
        parts.append(q)
    every = union_all(*parts).subquery()
    latest = (
        select(every.c.rid, func.max(every.c.time).label("time"))
        .group_by(every.c.rid)
        .order_by(func.max(every.c.time).desc(), every.c.rid)
        .limit(limit)
    )
    with engine.connect() as conn:
        found = [(r.rid, r.time) for r in conn.execute(latest)]
    out = []
    for rid, time in found:
        records = exchange_queries.records(engine, rid)
        if records:
            out.append(Exchange(rid, time, records))
    return out


def _chart(days: Sequence[exchange_queries.DayCounts], _: Translator) -> dict[str, Any]:
    """Exchanges by day: served and denied as the providers logged them."""
    series = [
        ("已提供", "served", "#2e7d32"),
        ("已拒绝", "denied", "#c62828"),
    ]
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [d.day for d in days]},
        "yAxis": {"type": "value", "name": _("次"), "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "stack": "exchanges",
                "barMaxWidth": 48,
                "name": _(label),
                "itemStyle": {"color": colour},
                "data": [getattr(d, key) or None for d in days],
            }
            for label, key, colour in series
        ],
    }


@router.get("/sharing/exchanges", response_class=HTMLResponse)
def exchanges(
    request: Request,
    _user: Reader,
    city: Text = "",
    agreement: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    engine = _folded(request)
    chosen_city = city if CITY.match(city) else ""
    chosen = agreement if re.match(r"^data-agreement/\d{6}/\d{1,15}$", agreement) else ""
    audit = exchange_queries.audit(engine, chosen or None, chosen_city or None)
    everything = exchange_queries.audit(engine)
    return render.render(
        request,
        "sharing_exchanges.html",
        _page(
            "exchanges",
            audit=audit,
            chosen_city=chosen_city,
            chosen=chosen,
            agreement_choices=sorted({a.agreement for a in everything.by_agreement if a.agreement}),
            exchanges=recent_exchanges(engine, chosen or None, chosen_city or None),
            chart=_chart(audit.by_day, _translator(request)) if audit.by_day else None,
        ),
    )


@router.get("/sharing/exchanges/{request_id}", response_class=HTMLResponse)
def exchange_page(request: Request, request_id: str, _user: Reader) -> HTMLResponse:
    found = EXCHANGE_ID.match(request_id) is not None
    records = exchange_queries.records(_folded(request), request_id) if found else []
    if not records:
        raise not_found(f"本节点没有交换 {request_id} 的记录 — no records of exchange {request_id}")
    x = Exchange(request_id, max(r.time for r in records), records)
    return render.render(request, "sharing_exchange.html", _page("exchanges", x=x))


# --- the tourism check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttractionGroup:
    label: str  # 临沂市 · 蒙山
    attractions: tuple[registry.Attraction, ...]


def members(request: Request) -> list[str]:
    """The member cities, this node's first, then in the alliance's order."""
    own = _own_city(request)
    return [own, *(c for c in render.city_names(render.parts_of(request)) if c != own)]


def attraction_groups(cities: Sequence[str]) -> list[AttractionGroup]:
    """The attractions by city and scenic area, as the select shows them."""
    groups = []
    for c in cities:
        for area in registry.AREAS:
            if area.city != c:
                continue
            items = tuple(a for a in registry.ATTRACTIONS if a.area == area.code)
            groups.append(AttractionGroup(f"{gate.city_label(c)} · {area.name}", items))
    return groups


def mask(id_number: str) -> str:
    """An ID number as the result shows it: enough to tell visitors apart, no more."""
    n = id_number.strip().upper()
    return f"{n[:4]}{'*' * max(0, len(n) - 8)}{n[-4:]}" if len(n) > 8 else "*" * len(n)


def gate_form(request: Request, attraction: str = "") -> FormState:
    own = _own_city(request)
    first = next((a.code for a in registry.ATTRACTIONS if a.city == own), "")
    return FormState("gate", {"attraction": attraction or first, "id_number": "", "city": ""})


def tourism_context(
    request: Request,
    user: User,
    state: FormState | None = None,
    result: gate.Check | None = None,
    shown_id: str = "",
) -> dict[str, Any]:
    cities = members(request)
    chosen = None
    if result is not None:
        chosen = registry.attraction(result.attraction)
    context = _page(
        "tourism",
        form=state or gate_form(request),
        groups=attraction_groups(cities),
        # The gate checks this city's attractions only (another city's node runs its gates).
        gate_groups=attraction_groups(cities[:1]),
        members=cities,
        city_label=gate.city_label,
        result=result,
        chosen=chosen,
        shown_id=shown_id,
        may_check=may_check(request, user),
        counts=(registry.KEY_AREA_COUNT, registry.ATTRACTION_COUNT),
    )
    if not user.can(Permission.READ):
        context["tabs"] = ()  # a gate-only user: the other tabs would all be refused
    return context


@router.get("/sharing/tourism", response_class=HTMLResponse)
def tourism(request: Request, user: TourismViewer) -> HTMLResponse:
    return render.render(request, "sharing_tourism.html", tourism_context(request, user))


@router.post("/sharing/tourism", response_class=HTMLResponse)
def tourism_check(request: Request, user: Gatekeeper, form: Form) -> HTMLResponse:
    """The gate's check (lunan.apps.tourism.gate). The ID number is used for the check and not
    kept: not stored, not logged, shown back only masked (and, after an error, in its field)."""
    _ = _translator(request)
    if not may_check(request, user):
        raise forbidden(
            f"只能为本节点所在市（{gate.city_label(_own_city(request))}）的售票处核验 — "
            "a ticket office checks visitors for its own city only"
        )
    state = FormState(
        "gate",
        {
            "attraction": text(form, "attraction"),
            "id_number": text(form, "id_number"),
            "city": text(form, "city"),
        },
    )
    v = state.values
    if not v["attraction"]:
        state.add("attraction", _("请选择景点"))
    if not v["id_number"]:
        state.add("id_number", _("必填"))
    elif len(v["id_number"]) > 64:
        state.add("id_number", _("最多{n}个字", n=64))
    result = None
    if state.ok:
        parts = render.parts_of(request)
        city = v["city"] or None
        result = attempt(
            state,
            lambda: gate.check(parts, v["attraction"], v["id_number"], city, actor_id=user.name),
            _,
        )
    shown = mask(v["id_number"]) if result is not None else ""
    if result is not None:
        # The next visitor: same attraction, a blank ID number and city.
        state = gate_form(request, v["attraction"])
    context = tourism_context(request, user, state, result, shown)
    template = "_sharing_gate.html" if render.is_htmx(request) else "sharing_tourism.html"
    return render.render(request, template, context, status=state.status)
