"""The provider's side of the exchange: check everything, fetch, answer, sign, record.

`Provider.answer` takes a request whose HTTP signature the web layer has verified (so the
requesting member is known) and returns the exact bytes to send, already signed. Checks, in
order, each with its own problem type (lunan.exchange.protocol.PROBLEMS): the body's form; the
agreement (exists and is this node's; the signer is its requester; it is for this service; it
is active today); the purpose; the fields; the params (key fields only, inside the row filter);
the request id (used once); the day's quota. Then the adapter
fetches, the row filter and the params are applied again and only agreed fields kept (a 是/否
service answers 是 or 否 only). Every answer is logged: `exchange.served` or `exchange.denied`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, func, select

from lunan.events.tables import p_objects
from lunan.exchange import adapters, nonces
from lunan.exchange.events import (
    AGREEMENT,
    DENIED,
    DENIED_KIND,
    SERVED,
    SERVED_KIND,
    SERVICE,
    Denied,
    Served,
)
from lunan.exchange.protocol import (
    JSON,
    MAX_BODY,
    MAX_ROWS,
    NO,
    PATH,
    PROBLEM_JSON,
    PROBLEMS,
    REQUEST_ID,
    TYPE_PREFIX,
    YES,
    ExchangeRequest,
    digest,
    encode,
    new_nonce,
    nonce_text,
)
from lunan.exchange.tables import p_exchange_served
from lunan.net.signatures import sign_response
from lunan.services import NodeParts
from lunan.sharing import queries as sharing
from lunan.sharing.queries import AgreementView, DatasetView

logger = logging.getLogger("lunan.exchange")
ACTOR = {"system": "lunan serve"}
_SERVICE = re.compile(SERVICE)
_AGREEMENT = re.compile(AGREEMENT)
_REQUEST_ID = re.compile(REQUEST_ID)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


class Denial(Exception):
    """A request refused by one of the checks; `slug` names it (a key of PROBLEMS)."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug, self.detail = slug, detail
        self.status = PROBLEMS[slug].status


@dataclass
class _Claimed:
    """What a request says about itself, read leniently, for the record of its denial:
    only values of the expected forms, so nothing else a caller sends reaches the log."""

    agreement: str = ""
    request_id: str = ""

    @classmethod
    def read(cls, body: bytes) -> _Claimed:
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            return cls()
        if not isinstance(doc, dict):
            return cls()
        return cls(
            _if_form(doc.get("agreement"), _AGREEMENT), _if_form(doc.get("request_id"), _REQUEST_ID)
        )


def _if_form(value: object, form: re.Pattern[str]) -> str:
    return value if isinstance(value, str) and form.match(value) else ""


@dataclass
class Quotas:
    """Calls served per agreement and day, and the request ids being answered.

    The quota check takes a slot under the lock before fetching, and the slot is given back if
    the call fails: concurrent calls can never be served beyond the quota, yet their
    `exchange.served` appends need no lock and share group commits. The day's count starts from
    the served records in the log (this node is the only one that writes them)."""

    count_served: Callable[[str, str], int]
    served_exists: Callable[[str], bool]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counts: dict[tuple[str, str], int] = field(default_factory=dict)
    _busy: set[str] = field(default_factory=set)

    def take(self, agreement: AgreementView, day: str, request_id: str) -> None:
        # Answered already (its nonce is stored before its id leaves `_busy`), or being now.
        used = self.served_exists(request_id)
        with self._lock:
            if used or request_id in self._busy:
                raise Denial("exchange-duplicate-request", "请求编号已使用 request_id was used")
            key = (agreement.id, day)
            if key not in self._counts:
                self._counts = {k: n for k, n in self._counts.items() if k[1] == day}
                self._counts[key] = self.count_served(agreement.id, day)
            if self._counts[key] >= agreement.quota:
                raise Denial(
                    "exchange-over-quota",
                    f"今日已调用{self._counts[key]}次，限额{agreement.quota}次 "
                    f"{agreement.quota} calls a day are agreed; try again tomorrow",
                )
            self._counts[key] += 1
            self._busy.add(request_id)

    def finish(self, agreement_id: str, day: str, request_id: str, served: bool) -> None:
        with self._lock:
            self._busy.discard(request_id)
            if not served and (agreement_id, day) in self._counts:
                self._counts[(agreement_id, day)] -= 1


# When the agreement or its entry last changed: asked on every call, so built once.
_STAMPS = select(p_objects.c.id, p_objects.c.updated_origin, p_objects.c.updated_idx).where(
    p_objects.c.id.in_(bindparam("ids", expanding=True))
)


class Provider:
    """This node as a provider: one per running node (it keeps quotas and adapters)."""

    def __init__(
        self,
        parts: NodeParts,
        today: Callable[[], date] | None = None,
    ) -> None:
        """Answers are signed with the node's log key, whose key id is the log origin.
        `today` gives the day agreements and quotas are checked for (default: today in
        Shanghai, as lunan.sharing.queries.today_shanghai says at each call)."""
        self.parts = parts
        self.engine = parts.projector.engine
        self.city = parts.config.city
        self.key = parts.log.signer.private_key
        self.key_id = parts.log.signer.name
        self._today = today
        self.quotas = Quotas(self._count_served, self._served_exists)
        self._adapters: dict[str, tuple[str, adapters.Adapter]] = {}
        self._adapters_lock = threading.Lock()
        self._deny_lock = threading.Lock()
        Stamp = tuple[date, tuple[tuple[str, str, int], ...]]
        self._views: dict[str, tuple[Stamp, AgreementView]] = {}

    def today(self) -> date:
        return self._today() if self._today is not None else sharing.today_shanghai()

    # --- the answer ---------------------------------------------------------------------------

    def answer(self, requester: str, service: str, body: bytes) -> Reply:
        """Answer a request from member city `requester` (its signature verified)."""
        nonce = new_nonce()
        try:
            request = self._parse(body)
            agreement = self._check(requester, service, request)
            fields = request.fields if request.fields is not None else agreement.fields
            day = self.today().isoformat()
            self.quotas.take(agreement, day, request.request_id)
            served = False
            try:
                document, rows = self._fetch(agreement, request, fields)
                reply = encode({**document, "nonce": nonce_text(nonce)})
                self._record_served(agreement, request, nonce, body, reply, rows)
                served = True
            finally:
                self.quotas.finish(agreement.id, day, request.request_id, served)
            return self._signed(200, reply, JSON)
        except Denial as d:
            return self._deny(d, requester, service, body, nonce)

    def _parse(self, body: bytes) -> ExchangeRequest:
        if len(body) > MAX_BODY:
            raise Denial("exchange-invalid-request", f"请求体过大 body over {MAX_BODY} bytes")
        try:
            return ExchangeRequest.model_validate_json(body)
        except ValidationError as e:
            # Where and what, never the input (it may hold an ID number).
            where = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in e.errors(include_input=False, include_url=False)
            )
            raise Denial(
                "exchange-invalid-request", f"请求格式错误 malformed request: {where}"
            ) from None

    def _agreement(self, agreement_id: str) -> AgreementView | None:
        """The agreement as of today. Its view takes several queries, so it is kept and built
        again only when the agreement or its entry has changed: the positions of the events
        that last changed them are one query, read before the view so that a change in
        between is never missed. (The entry is known from the second call on: a first view is
        stamped without it, which no later stamp equals.)"""
        today = self.today()
        cached = self._views.get(agreement_id)
        objects = [agreement_id, *([cached[1].dataset.id] if cached is not None else [])]
        with self.engine.connect() as conn:
            rows = conn.execute(_STAMPS, {"ids": objects}).all()
        stamp = (today, tuple(sorted((r.id, r.updated_origin, r.updated_idx) for r in rows)))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        view = sharing.agreement(self.engine, agreement_id, today)
        if view is not None:
            self._views[agreement_id] = (stamp, view)
        return view

    def _check(self, requester: str, service: str, r: ExchangeRequest) -> AgreementView:
        a = self._agreement(r.agreement)
        if a is None or a.provider != self.city:
            raise Denial(
                "exchange-no-agreement",
                f"本节点没有协议{r.agreement} this node provides no agreement {r.agreement}",
            )
        if a.requester != requester:
            raise Denial(
                "exchange-not-party",
                f"协议{a.id}的申请方是{a.requester} the agreement was granted to {a.requester}, "
                f"not to {requester}",
            )
        if a.service != service:
            raise Denial(
                "exchange-wrong-service",
                f"协议{a.id}只涵盖服务{a.service} the agreement covers {a.service} only",
            )
        if a.status != "active":
            raise Denial(
                f"exchange-agreement-{a.status}",
                f"协议{a.id}状态为{a.status} the agreement is {a.status} "
                f"({a.period_start}–{a.period_end})",
            )
        if r.purpose != a.purpose:
            raise Denial("exchange-purpose", f"用途须为协议所载 the purpose must be {a.purpose!r}")
        self._check_fields(a, r)
        self._check_params(a, r)
        return a

    @staticmethod
    def _check_fields(a: AgreementView, r: ExchangeRequest) -> None:
        extra = [f for f in (r.fields or []) if f not in a.fields]
        extra += [k for k in r.params if k in a.dataset.keys and k not in a.fields]
        if extra:
            raise Denial(
                "exchange-field-not-agreed",
                f"协议未涵盖字段 not in the agreement: {_names(a.dataset, extra)}",
            )

    @staticmethod
    def _check_params(a: AgreementView, r: ExchangeRequest) -> None:
        keys = a.dataset.keys
        not_keys = [k for k in r.params if k not in keys]
        if not_keys:
            raise Denial(
                "exchange-row-filter",
                f"只能按查询条件{'、'.join(keys) or '（无）'}查询 only key fields may be "
                f"params; not {_names(a.dataset, not_keys)}",
            )
        if keys and not r.params:
            raise Denial(
                "exchange-row-filter",
                f"须按查询条件{'、'.join(keys)}查询 a query names at least one key field",
            )
        for k, value in _normalised(a.dataset, r.params).items():
            allowed = a.row_filter.get(k)
            if allowed is not None and value not in allowed:
                raise Denial(
                    "exchange-row-filter",
                    f"{k}的取值超出协议约定的行范围 the value of {k} is outside the agreed rows",
                )

    # --- fetching -----------------------------------------------------------------------------

    def _adapter(self, a: AgreementView) -> adapters.Adapter:
        config = adapters.get_config(self.engine, a.service)
        if config is None or config.dataset != a.dataset.id:
            raise Denial(
                "exchange-upstream",
                f"服务{a.service}尚未配置数据源 the service has no data source configured",
            )
        stamp = adapters.config_json(config)
        with self._adapters_lock:
            cached = self._adapters.get(a.service)
            if cached is None or cached[0] != stamp:
                key_field = a.dataset.keys[0] if a.dataset.keys else None
                try:
                    built = adapters.build(self.engine, config, a.dataset.code, key_field)
                except adapters.ConfigError as e:
                    logger.warning("exchange service %s: %s", a.service, e)
                    raise Denial(
                        "exchange-upstream", "数据源配置有误 data source misconfigured"
                    ) from None
                cached = (stamp, built)
                self._adapters[a.service] = cached
        return cached[1]

    def _fetch(
        self, a: AgreementView, r: ExchangeRequest, fields: list[str]
    ) -> tuple[dict[str, Any], int]:
        """The answer document (without its nonce) and the number of rows it carries."""
        adapter = self._adapter(a)
        params = _normalised(a.dataset, r.params)
        exists = a.dataset.answer == "exists"
        limit = 1 if exists else MAX_ROWS
        needed = list(dict.fromkeys([*fields, *params, *a.row_filter]))
        try:
            rows = adapter.fetch(params, needed, a.row_filter, limit)
        except adapters.AdapterError as e:
            logger.warning("exchange service %s: %s", a.service, e)
            raise Denial("exchange-upstream", "数据源查询失败 the data source failed") from None
        except Exception as e:  # a city's own adapter: whatever it raises, answer 502
            logger.warning("exchange service %s: adapter raised %s", a.service, type(e).__name__)
            raise Denial("exchange-upstream", "数据源查询失败 the data source failed") from None
        kept = [row for row in rows if adapters.matches(row, params, a.row_filter)][:limit]
        head = {"request_id": r.request_id, "agreement": a.id}
        if exists:
            # Always 0 rows in the record: a count would give the answer away.
            return {**head, "answer": YES if kept else NO}, 0
        return {**head, "rows": [{f: row.get(f) for f in fields} for row in kept]}, len(kept)

    # --- records ------------------------------------------------------------------------------

    def _record_served(
        self,
        a: AgreementView,
        r: ExchangeRequest,
        nonce: bytes,
        request_body: bytes,
        reply: bytes,
        rows: int,
    ) -> None:
        record = Served(
            agreement=a.id,
            requester=a.requester,
            service=a.service,
            purpose=a.purpose,
            user=r.user,
            rows=rows,
            bytes=len(reply),
            request_digest=digest(nonce, request_body),
            response_digest=digest(nonce, reply),
        )
        object_id = f"{SERVED_KIND}/{self.city}/{r.request_id}"
        also = nonces.storing(r.request_id, "served", nonce)
        self.parts.writer.append(SERVED, object_id, record, ACTOR, exclusive=False, also=also)

    def _deny(self, d: Denial, requester: str, service: str, body: bytes, nonce: bytes) -> Reply:
        claimed = _Claimed.read(body)
        reply = encode(
            {
                "type": TYPE_PREFIX + d.slug,
                "title": PROBLEMS[d.slug].title,
                "status": d.status,
                "detail": d.detail,
                "instance": PATH + service,
                "request_id": claimed.request_id or None,
                "nonce": nonce_text(nonce),
            }
        )
        record = Denied(
            request_id=claimed.request_id,
            agreement=claimed.agreement,
            requester=requester,
            service=_if_form(service, _SERVICE),
            reason=d.slug,
            status=d.status,
            request_digest=digest(nonce, body),
        )
        with self._deny_lock:  # a request id may be denied twice: the second gets a fresh id
            local = claimed.request_id
            if not local or nonces.lookup(self.engine, local, "denied") is not None:
                local = uuid.uuid4().hex
            object_id = f"{DENIED_KIND}/{self.city}/{local}"
            also = nonces.storing(local, "denied", nonce)
            self.parts.writer.append(DENIED, object_id, record, ACTOR, exclusive=False, also=also)
        return self._signed(d.status, reply, PROBLEM_JSON)

    def _signed(self, status: int, body: bytes, media_type: str) -> Reply:
        headers = {"Content-Type": media_type, "Cache-Control": "no-store"}
        headers.update(sign_response(status, headers, body, self.key_id, self.key))
        return Reply(status, body, headers)

    # --- state --------------------------------------------------------------------------------

    def _served_exists(self, request_id: str) -> bool:
        # The nonce is stored in the commit that appends the record, which is folded later
        # (off the request path): the nonce table is what knows at once.
        return nonces.lookup(self.engine, request_id, "served") is not None

    def _count_served(self, agreement_id: str, day: str) -> int:
        self.parts.projector.catch_up()  # records are folded off the request path
        q = (
            select(func.count())
            .select_from(p_exchange_served)
            .where(p_exchange_served.c.agreement == agreement_id, p_exchange_served.c.day == day)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)


def _names(dataset: DatasetView, names: list[str]) -> str:
    """Field names for a refusal's detail: the entry's own by name, anything else only counted
    (a caller may have put an ID number where a field name goes; it is never echoed)."""
    known = sorted({n for n in names if dataset.field(n) is not None})
    unknown = len({n for n in names if dataset.field(n) is None})
    return "、".join(
        [*known, *([f"{unknown}个非字段名 {unknown} unknown name(s)"] if unknown else [])]
    )


def _normalised(dataset: DatasetView, params: Mapping[str, str]) -> dict[str, str]:
    """Params as the data holds them: IDs with an upper-case X, no surrounding spaces."""
    out = {}
    for k, v in params.items():
        f = dataset.field(k)
        out[k] = v.strip().upper() if f is not None and f.type == "resident_id" else v.strip()
    return out
