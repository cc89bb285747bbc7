"""The 数据共享 pages: the catalog with its search and filters, requests to a city and from it
with their deadlines, approval (narrowed terms) and refusal, agreements and their changes, the
exchange record with digests and links to both sides' events, and the tourism check at a
ticket office; role checks and CSRF on every form, errors next to the field, in Chinese.

The four cities' nodes share one database (tests/factories.py): 临沂 provides its resident
check with its residents imported, and the clock is pinned to SHARING_TODAY.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import (
    CHAIR,
    CITIES,
    SHARING_TODAY,
    ExchangeCities,
    Visitor,
    error_of,
    exchange_body,
    exchange_cities,
    found_in,
    pages_app,
    signed_in_visitor,
    title_of,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lunan.apps.tourism import gate, registry
from lunan.apps.tourism.gate import CouldNotAsk
from lunan.auth import passwords, users
from lunan.auth.roles import ROLE_LABELS, ROLE_PERMISSIONS, Permission, Role
from lunan.exchange import queries as exchange_queries
from lunan.exchange.events import RECEIVED, RECEIVED_KIND, Received
from lunan.sample import sharing as sample
from lunan.sharing import queries
from lunan.sharing.actions import SYSTEM_ACTOR
from lunan.sharing.models import DatasetFields
from lunan.web.pages import render, sharing
from lunan.web.pages.i18n_en import EN

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
PASSWORD = "sharing-pages-password"
ENTERPRISES = "企业登记信息"
NOT_A_RESIDENT = "110101199003074514"  # 北京市东城区: valid, and no member's resident
ATTRACTION = "371300-A07"  # 蒙山龟蒙景区, 120 元 / 60 元


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its cheapest, and SHARING_TODAY as today for events, actions and pages."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))
    stamp = f"{SHARING_TODAY.isoformat()}T10:00:00.000+08:00"
    monkeypatch.setattr("lunan.events.writer.now_shanghai", lambda: stamp)
    monkeypatch.setattr("lunan.sharing.queries.today_shanghai", lambda: SHARING_TODAY)


# --- the nodes and the people ---------------------------------------------------------------


@dataclass
class Site:
    ex: ExchangeCities
    apps: dict[str, FastAPI]
    opened: list[TestClient]

    @property
    def engine(self) -> Any:
        return self.ex.engine

    def app(self, city: str) -> FastAPI:
        if city not in self.apps:
            sc = self.ex.sc
            self.apps[city] = pages_app(sc.h, sc.parts[city], sc.directory, sc.h.logs[city])
        return self.apps[city]

    def visit(self, city: str = CHAIR, role: str = "officer", user_city: str = "") -> Visitor:
        """Signed in through the sign-in page as `role` of `user_city` (default: `city`)."""
        who = user_city or city
        name = f"{role}-{who}"
        if users.get_user(self.engine, name) is None:
            users.add_user(self.engine, who, name, role, PASSWORD, f"{CITIES[who]}{role}")
        client = TestClient(self.app(city))
        client.__enter__()
        self.opened.append(client)
        return signed_in_visitor(client, name, PASSWORD)

    def enterprises(self, city: str = CHAIR) -> str:
        """`city`'s 企业登记信息（示例数据, 有条件共享; 法定代表人身份证号 不予共享)."""
        found = queries.dataset_by_service(self.engine, city, "enterprises")
        if found is not None:
            return found.id
        entry = next(e for e in sample.other_entries(city) if e["service"] == "enterprises")
        return self.ex.sc.publish(city, DatasetFields.model_validate(entry))

    def sizes(self) -> dict[str, int]:
        return self.ex.sizes()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with exchange_cities(tmp_path) as ex:
        s = Site(ex, {}, [])
        yield s
        for client in s.opened:
            client.__exit__(None, None, None)


def path_of(object_id: str) -> str:
    return sharing.url_of(object_id)


def request_form(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "fields": ["统一社会信用代码", "企业名称"],
        "purpose": "招商引资企业核实（示例数据）",
        "scenario": "跨市通办（示例数据）",
        "period_start": SHARING_TODAY.isoformat(),
        "period_end": (SHARING_TODAY + timedelta(days=364)).isoformat(),
        "legal_basis": "《政务信息资源共享管理暂行办法》（示例数据）",
        "volume": "500",
        "quota": "1000",
    }
    return {**values, **changes}


def filed(site: Site, requester: str = ZAOZHUANG, **changes: Any) -> str:
    """A request from `requester` for 临沂's 企业登记信息, filed through the entry page."""
    entry = site.enterprises()
    visitor = site.visit(requester, "officer")
    r = visitor.post(f"{path_of(entry)}/request", request_form(**changes))
    assert r.status_code == 303, r.text[:2000]
    location = r.headers["location"]
    assert location.endswith("?ok=filed")
    city, n = location.removeprefix("/sharing/requests/").split("?")[0].split("/")
    return f"data-request/{city}/{n}"


def an_exchange(site: Site) -> tuple[str, str]:
    """枣庄 asks 临沂's resident check once, and both sides log it: (agreement, request id)."""
    agreement = site.ex.sc.agreement(ZAOZHUANG, CHAIR)
    body = exchange_body(agreement, {"身份证号": site.ex.ids[0]})
    assert site.ex.provider().answer(ZAOZHUANG, "resident-check", body).status == 200
    request_id = json.loads(body)["request_id"]
    projector = site.ex.sc.h.projector
    projector.catch_up()  # exchange records are folded by the node's next catch-up
    [served] = exchange_queries.records(site.engine, request_id)
    parts = site.ex.parts(ZAOZHUANG)
    record = Received(
        agreement=agreement,
        provider=CHAIR,
        service="resident-check",
        status=200,
        rows=0,
        verified=True,
        request_digest=served.request_digest,
        response_digest=served.response_digest or "",
    )
    parts.writer.append(
        RECEIVED,
        f"{RECEIVED_KIND}/{ZAOZHUANG}/{request_id}",
        record,
        SYSTEM_ACTOR,
        parts.writer.deps_for(agreement),
        exclusive=False,
    )
    projector.catch_up()
    return agreement, request_id


# --- every page, every role -------------------------------------------------------------------


def paths(site: Site) -> dict[str, str]:
    request_id = filed(site)
    agreement, exchange = an_exchange(site)
    return {
        "entry": path_of(site.enterprises()),
        "request": path_of(request_id),
        "agreement": path_of(agreement),
        "exchange": f"/sharing/exchanges/{exchange}",
    }


PAGES = [
    ("/sharing", "数据共享"),
    ("/sharing/catalog", "共享目录"),
    ("{entry}", ENTERPRISES),
    ("/sharing/incoming", "向我申请"),
    ("/sharing/outgoing", "我的申请"),
    ("{request}", "共享申请"),
    ("/sharing/agreements", "共享协议"),
    ("{agreement}", "共享协议"),
    ("/sharing/exchanges", "交换记录"),
    ("{exchange}", "交换记录"),
    ("/sharing/tourism", "旅游核验"),
]


# Every role that reads; the gate role (检票员) opens 旅游核验 only: tests/auth/test_gate_role.py.
@pytest.mark.parametrize("role", [r.value for r in Role if Permission.READ in ROLE_PERMISSIONS[r]])
def test_every_sharing_page_renders_for_every_role(site: Site, role: str) -> None:
    found = paths(site)
    visitor = site.visit(CHAIR, role)
    for path, expected in PAGES:
        r = visitor.get(path.format(**found))
        assert r.status_code == 200, (role, path, r.text[:500])
        assert '<html lang="zh-CN">' in r.text
        assert expected in title_of(r.text) and "数字鲁南" in title_of(r.text), path
        assert ROLE_LABELS[Role(role)][0] in r.text
        assert '<a href="/sharing" aria-current="page">数据共享</a>' in r.text, path
        assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    nav = visitor.get("/").text
    assert nav.index('href="/sharing"') < nav.index('href="/chain"')  # before 联盟账本


def test_a_visitor_who_has_not_signed_in_is_sent_to_sign_in(site: Site) -> None:
    client = TestClient(site.app(CHAIR))
    for path, _ in PAGES:
        if "{" in path:
            continue
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = client.post("/sharing/tourism", data={"id_number": NOT_A_RESIDENT}, follow_redirects=False)
    assert r.status_code in (303, 403)


def test_unknown_objects_are_404_pages(site: Site) -> None:
    visitor = site.visit()
    for path in (
        "/sharing/catalog/371300/999",
        "/sharing/catalog/x/1",
        "/sharing/requests/370400/999",
        "/sharing/agreements/371300/999",
        "/sharing/exchanges/" + "0" * 32,
        "/sharing/exchanges/nope",
    ):
        r = visitor.get(path)
        assert r.status_code == 404 and "未找到" in r.text, path


# --- the catalog ---------------------------------------------------------------------------------


def test_the_catalog_searches_and_filters_and_htmx_gets_the_table_alone(site: Site) -> None:
    site.enterprises(CHAIR)
    site.ex.sc.resident_check(ZAOZHUANG)
    visitor = site.visit(ZAOZHUANG, "viewer")
    everything = visitor.get("/sharing/catalog").text
    assert "户籍/居住证 核验" in everything and ENTERPRISES in everything
    assert "找到3条" in everything
    by_city = visitor.get("/sharing/catalog", params={"city": ZAOZHUANG}).text
    assert "找到1条" in by_city and ENTERPRISES not in by_city
    conditional = visitor.get("/sharing/catalog", params={"category": "无条件共享"}).text
    assert "找到0条" in conditional and "没有符合条件的目录" in conditional
    searched = visitor.get("/sharing/catalog", params={"q": "统一社会信用代码"}).text
    assert "找到1条" in searched and ENTERPRISES in searched
    department = visitor.get("/sharing/catalog", params={"department": "临沂市公安局"}).text
    assert "找到1条" in department and "户籍/居住证 核验" in department
    table = visitor.get("/sharing/catalog", params={"q": "企业"}, headers={"HX-Request": "true"})
    assert table.text.lstrip().startswith('<div id="catalog-table"')
    assert "<html" not in table.text
    # Nonsense filters are dropped, not errors.
    assert "找到3条" in visitor.get("/sharing/catalog", params={"city": "x", "category": "y"}).text
    assert "/api/v1/sharing/catalog.jsonld?q=" in searched  # the DCAT-AP export, filtered


def test_an_entry_shows_its_fields_categories_and_basis(site: Site) -> None:
    entry = site.enterprises()
    html = site.visit(ZAOZHUANG, "viewer").get(path_of(entry)).text
    assert "法定代表人身份证号" in html and "不予共享" in html and "有条件共享" in html
    assert "国发〔2016〕51号" in html  # the legal basis
    assert "371300-02-0001" in html
    # A viewer may read, not apply: no form, and why.
    assert 'id="form-request"' not in html
    assert "申请需由本市具有数据共享办理权限的用户提交" in html


def test_the_request_form_is_for_other_cities_managers_and_never_offers_unshared_fields(
    site: Site,
) -> None:
    entry = site.enterprises()
    other = site.visit(ZAOZHUANG, "officer").get(path_of(entry)).text
    assert 'id="form-request"' in other
    assert 'value="统一社会信用代码"' in other
    assert 'value="法定代表人身份证号"' not in other  # 不予共享: shown, disabled, not sent
    own = site.visit(CHAIR, "officer").get(path_of(entry)).text
    assert 'id="form-request"' not in own and "本市目录无需申请" in own


def test_filing_a_request_shows_each_error_next_to_its_field_in_chinese(site: Site) -> None:
    entry = site.enterprises()
    visitor = site.visit(ZAOZHUANG, "officer")
    before = site.sizes()
    blank = {k: "" for k in request_form()}
    r = visitor.post(f"{path_of(entry)}/request", {**blank, "fields": []})
    assert r.status_code == 422
    assert error_of(r.text, "request", "fields") == "请至少选择一个信息项"
    assert error_of(r.text, "request", "purpose") == "必填"
    assert error_of(r.text, "request", "scenario") == "必填"
    assert error_of(r.text, "request", "quota") == "必填"
    assert error_of(r.text, "request", "period_start") == "必填"
    assert 'aria-invalid="true"' in r.text
    wrong = visitor.post(
        f"{path_of(entry)}/request",
        request_form(
            period_end=(SHARING_TODAY - timedelta(days=1)).isoformat(),
            quota="0",
            row_filter="没有等号的一行",
        ),
    )
    assert wrong.status_code == 422
    assert "结束日期早于开始日期" in (error_of(wrong.text, "request", "period_end") or "")
    assert error_of(wrong.text, "request", "quota") == "不能小于1"
    assert error_of(wrong.text, "request", "row_filter") == "第1行应为“信息项=值1,值2”"
    # The action's own checks, next to their fields too.
    basis = visitor.post(f"{path_of(entry)}/request", request_form(legal_basis=""))
    assert basis.status_code == 422
    assert "须注明依据" in (error_of(basis.text, "request", "legal_basis") or "")
    unshared = visitor.post(
        f"{path_of(entry)}/request", request_form(fields=["法定代表人身份证号"])
    )
    assert "不予共享" in (error_of(unshared.text, "request", "fields") or "")
    # htmx gets the form alone, in place.
    part = visitor.post(f"{path_of(entry)}/request", {**blank}, htmx=True)
    assert part.status_code == 422 and part.text.lstrip().startswith('<form id="form-request"')
    assert site.sizes() == before


def test_a_filed_request_is_shown_to_both_cities_with_its_deadline(site: Site) -> None:
    request_id = filed(site, row_filter="登记状态=存续,在业")
    view = queries.request(site.engine, request_id)
    assert view is not None and view.status == "pending"
    assert view.row_filter == {"登记状态": ["存续", "在业"]}
    mine = site.visit(ZAOZHUANG, "officer")
    page = mine.get(path_of(request_id) + "?ok=filed").text
    assert "共享申请已提交" in page and "待审批" in page
    assert str(view.due) in page and f"剩{view.working_days_left}个工作日" in page
    outgoing = mine.get("/sharing/outgoing").text
    assert request_id.removeprefix("data-request/") in outgoing
    incoming = site.visit(CHAIR, "officer").get("/sharing/incoming").text
    assert request_id.removeprefix("data-request/") in incoming and "审批" in incoming
    assert request_id.removeprefix("data-request/") not in mine.get("/sharing/incoming").text


def test_overdue_requests_are_flagged_in_red(site: Site) -> None:
    late = filed(site, received_on=(SHARING_TODAY - timedelta(days=45)).isoformat())
    view = queries.request(site.engine, late)
    assert view is not None and view.overdue
    visitor = site.visit(CHAIR, "officer")
    html = visitor.get("/sharing/incoming").text
    row = re.search(r'<tr class="row-overdue">.*?</tr>', html, re.S)
    assert row and late.removeprefix("data-request/") in row.group(0)
    assert f"已逾期{-view.working_days_left}个工作日" in row.group(0) and "逾期" in row.group(0)
    only = visitor.get("/sharing/incoming", params={"show": "overdue"}).text
    assert late.removeprefix("data-request/") in only
    assert "其中逾期1件" in visitor.get("/sharing").text


# --- deciding -----------------------------------------------------------------------------------


def test_the_provider_approves_with_narrowed_terms_and_sees_the_agreement(site: Site) -> None:
    request_id = filed(site)
    visitor = site.visit(CHAIR, "officer")
    page = visitor.get(path_of(request_id)).text
    assert 'id="form-approve"' in page and 'id="form-refuse"' in page
    # Widening is refused next to the field; nothing is written.
    before = site.sizes()
    wide = visitor.post(
        f"{path_of(request_id)}/approve",
        {"fields": ["统一社会信用代码"], "quota": "5000", "reason": "同意"},
    )
    assert wide.status_code == 422
    assert "日调用上限不能超过申请的1000" in (error_of(wide.text, "approve", "quota") or "")
    later = visitor.post(
        f"{path_of(request_id)}/approve",
        {
            "fields": ["统一社会信用代码"],
            "period_end": (SHARING_TODAY + timedelta(days=400)).isoformat(),
            "reason": "同意",
        },
    )
    assert "期限不能晚于" in (error_of(later.text, "approve", "period_end") or "")
    no_reason = visitor.post(
        f"{path_of(request_id)}/approve", {"fields": ["统一社会信用代码"]}, htmx=True
    )
    assert no_reason.status_code == 422
    assert no_reason.headers["HX-Retarget"] == "#form-approve"
    assert error_of(no_reason.text, "approve", "reason") == "必填"
    assert site.sizes() == before
    # Narrowed: one field of two, a lower quota, a shorter period.
    end = SHARING_TODAY + timedelta(days=180)
    r = visitor.post(
        f"{path_of(request_id)}/approve",
        {
            "fields": ["统一社会信用代码"],
            "quota": "200",
            "period_start": SHARING_TODAY.isoformat(),
            "period_end": end.isoformat(),
            "reason": "同意，核减日调用上限（示例数据）",
        },
    )
    assert r.status_code == 303, r.text[:2000]
    assert r.headers["location"].startswith("/sharing/agreements/371300/")
    agreement = visitor.get(r.headers["location"]).text
    assert "已批准，共享协议已生成" in agreement and "有效" in agreement
    assert re.search(r'id="agreement-quota">200<', agreement)
    fields = found_in(r'id="agreement-fields">(.*?)</dd>', agreement)
    assert "统一社会信用代码" in fields and "企业名称" not in fields
    view = queries.request(site.engine, request_id)
    assert view is not None and view.status == "approved"
    made = queries.agreement(site.engine, view.decision or "")
    assert made is not None and made.period_end == end and made.quota == 200
    # Decided: no forms any more, for anyone.
    assert 'id="form-approve"' not in visitor.get(path_of(request_id)).text


def test_the_provider_refuses_with_a_reason(site: Site) -> None:
    request_id = filed(site)
    visitor = site.visit(CHAIR, "coordinator")
    empty = visitor.post(f"{path_of(request_id)}/refuse", {"reason": ""})
    assert empty.status_code == 422 and error_of(empty.text, "refuse", "reason") == "必填"
    r = visitor.post(f"{path_of(request_id)}/refuse", {"reason": "依据不足（示例数据）"}, htmx=True)
    assert r.status_code == 200 and r.headers["HX-Redirect"] == f"{path_of(request_id)}?ok=refused"
    shown = site.visit(ZAOZHUANG, "viewer").get(path_of(request_id)).text
    assert "不予批准" in shown and "依据不足（示例数据）" in shown


def test_who_may_decide_is_checked_on_the_server(site: Site) -> None:
    request_id = filed(site)
    before = site.sizes()
    form = {"fields": ["统一社会信用代码"], "reason": "同意"}
    for city, role in ((CHAIR, "viewer"), (CHAIR, "auditor")):
        visitor = site.visit(city, role)
        assert 'id="form-approve"' not in visitor.get(path_of(request_id)).text
        r = visitor.post(f"{path_of(request_id)}/approve", form)
        assert r.status_code == 403 and "无权操作" in r.text
    # The requester's own officer, on its own node: only the provider decides.
    requester = site.visit(ZAOZHUANG, "officer")
    assert 'id="form-approve"' not in requester.get(path_of(request_id)).text
    r = requester.post(f"{path_of(request_id)}/approve", form)
    assert r.status_code == 403 and "无权操作" in r.text
    # A 枣庄 user on 临沂's node acts for nobody there.
    stranger = site.visit(CHAIR, "officer", user_city=ZAOZHUANG)
    assert stranger.post(f"{path_of(request_id)}/refuse", {"reason": "x"}).status_code == 403
    assert site.sizes() == before


def test_the_requester_withdraws_a_pending_request(site: Site) -> None:
    request_id = filed(site)
    visitor = site.visit(ZAOZHUANG, "officer")
    assert 'id="form-withdraw"' in visitor.get(path_of(request_id)).text
    r = visitor.post(f"{path_of(request_id)}/withdraw", {"reason": "重复申请（示例数据）"})
    assert r.status_code == 303
    assert "已撤回" in visitor.get(r.headers["location"]).text


def test_every_form_needs_the_sessions_csrf_token(site: Site) -> None:
    request_id = filed(site)
    visitor = site.visit(CHAIR, "officer")
    before = site.sizes()
    visitor.csrf = "forged"
    for path, data in (
        (f"{path_of(request_id)}/approve", {"fields": ["企业名称"], "reason": "同意"}),
        (f"{path_of(request_id)}/refuse", {"reason": "x"}),
        ("/sharing/tourism", {"attraction": ATTRACTION, "id_number": NOT_A_RESIDENT}),
    ):
        r = visitor.post(path, data)
        assert r.status_code == 403 and "跨站请求校验失败" in r.text, path
    assert site.sizes() == before


# --- agreements ---------------------------------------------------------------------------------


def test_the_provider_suspends_resumes_and_revokes_an_agreement(site: Site) -> None:
    agreement = site.ex.sc.agreement(ZAOZHUANG, CHAIR)
    listing = site.visit(ZAOZHUANG, "viewer").get("/sharing/agreements").text
    assert agreement.removeprefix("data-agreement/") in listing and "有效" in listing
    requester = site.visit(ZAOZHUANG, "officer")
    assert 'id="form-suspend"' not in requester.get(path_of(agreement)).text
    r = requester.post(f"{path_of(agreement)}/suspend", {"reason": "x"})
    assert r.status_code == 403
    visitor = site.visit(CHAIR, "officer")
    page = visitor.get(path_of(agreement)).text
    assert 'id="form-suspend"' in page and 'id="form-revoke"' in page
    assert 'id="form-resume"' not in page
    empty = visitor.post(f"{path_of(agreement)}/suspend", {"reason": ""}, htmx=True)
    assert empty.status_code == 422 and empty.headers["HX-Retarget"] == "#form-suspend"
    assert error_of(empty.text, "suspend", "reason") == "必填"
    r = visitor.post(f"{path_of(agreement)}/suspend", {"reason": "接口升级（示例数据）"}, htmx=True)
    assert r.status_code == 200 and r.text.lstrip().startswith('<div id="sharing-agreement">')
    assert "协议已暂停" in r.text and "已暂停" in r.text and 'id="form-resume"' in r.text
    r = visitor.post(f"{path_of(agreement)}/resume", {"reason": "升级完成（示例数据）"})
    assert r.status_code == 303 and "协议已恢复" in visitor.get(r.headers["location"]).text
    r = visitor.post(f"{path_of(agreement)}/revoke", {"reason": "不再需要（示例数据）"})
    assert r.status_code == 303
    revoked = visitor.get(r.headers["location"]).text
    assert "已终止" in revoked and 'id="form-resume"' not in revoked
    assert "接口升级（示例数据）" in revoked  # the history
    again = visitor.post(f"{path_of(agreement)}/resume", {"reason": "x"})
    assert again.status_code == 409 and "已终止" in (
        error_of(again.text, "resume", "") or again.text
    )
    assert visitor.post(f"{path_of(agreement)}/delete", {"reason": "x"}).status_code == 404
    active = visitor.get("/sharing/agreements", params={"status": "active"}).text
    assert agreement.removeprefix("data-agreement/") not in active


# --- the exchange record --------------------------------------------------------------------------


def test_the_exchange_record_shows_counts_digests_and_both_sides_events(site: Site) -> None:
    agreement, request_id = an_exchange(site)
    records = {r.kind: r for r in exchange_queries.records(site.engine, request_id)}
    served, received = records["served"], records["received"]
    visitor = site.visit(JINING, "auditor")
    html = visitor.get("/sharing/exchanges").text
    assert found_in(r'id="total-served">(\d+)<', html) == "1"
    assert f"/chain/events/{CHAIR}/{served.index}" in html
    assert f"/chain/events/{ZAOZHUANG}/{received.index}" in html
    assert served.request_digest[:12] in html and f"/sharing/exchanges/{request_id}" in html
    assert 'data-chart="chart-exchanges"' in html
    one = visitor.get(f"/sharing/exchanges/{request_id}").text
    assert served.request_digest in one and (served.response_digest or "") in one
    assert "两侧摘要一致" in one
    by_agreement = visitor.get("/sharing/exchanges", params={"agreement": agreement}).text
    assert found_in(r'id="total-served">(\d+)<', by_agreement) == "1"
    elsewhere = visitor.get("/sharing/exchanges", params={"city": HEZE}).text
    assert found_in(r'id="total-served">(\d+)<', elsewhere) == "0"
    agreement_page = visitor.get(path_of(agreement)).text
    assert (
        "已提供1次" in agreement_page and f"/chain/events/{CHAIR}/{served.index}" in agreement_page
    )
    # The event page each side links to: its content, its inclusion proof verified.
    for record in (served, received):
        event = visitor.get(f"/chain/events/{record.city}/{record.index}")
        assert event.status_code == 200 and "已验证" in event.text, record
        assert f"&#34;type&#34;: &#34;exchange.{record.kind}&#34;" in event.text


def test_the_overview_shows_each_citys_exchange_volume(site: Site) -> None:
    an_exchange(site)
    html = site.visit(HEZE, "viewer").get("/").text
    volumes = re.findall(r'<dd class="exchange-volume">(.*?)</dd>', html, re.S)
    assert len(volumes) == 4
    assert any("提供1次" in v for v in volumes) and any("调用1次" in v for v in volumes)
    assert "数据共享上线后显示" not in html
    assert 'href="/sharing/exchanges?city=' in html


# --- the tourism check ----------------------------------------------------------------------------


@pytest.fixture
def members(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """The members' answers to the gate, without a network: city → 是 for the ID numbers in
    `residents[city]`, 否 for others; a city mapped to None is down."""
    residents: dict[str, str | None] = {c: "" for c in CITIES}

    def asker(parts: Any, actor_id: str, timeout: float) -> gate.Ask:
        def ask(city: str, number: str) -> gate.Answer:
            known = residents.get(city)
            if known is None:
                raise CouldNotAsk(f"{gate.city_label(city)}节点无法连接 unreachable")
            return "是" if number in known.split() else "否"

        return ask

    monkeypatch.setattr(gate, "node_asker", asker)
    return residents


def test_the_ticket_office_checks_a_resident_and_a_visitor(
    site: Site, members: dict[str, str | None]
) -> None:
    resident = site.ex.ids[0]
    members[JINING] = resident
    clerk = site.visit(CHAIR, "officer")
    page = clerk.get("/sharing/tourism").text
    assert 'id="form-gate"' in page and "<optgroup" in page
    assert page.index("临沂市 · ") < page.index("济宁市 · ")  # this city's attractions first
    r = clerk.post("/sharing/tourism", {"attraction": ATTRACTION, "id_number": resident})
    assert r.status_code == 200
    assert found_in(r'<p class="gate-verdict" id="gate-verdict">([^<]*)<', r.text) == "本地居民价"
    assert found_in(r'<span class="gate-amount">(\d+)<', r.text) == "60"
    assert "经济宁核验为该市居民" in r.text
    assert resident not in r.text and f"{resident[:4]}" in r.text  # shown masked only
    assert f'value="{ATTRACTION}" selected' in r.text  # kept for the next visitor
    visitor = clerk.post(
        "/sharing/tourism", {"attraction": ATTRACTION, "id_number": NOT_A_RESIDENT}, htmx=True
    )
    assert visitor.text.lstrip().startswith('<div id="gate"')
    assert found_in(r'id="gate-verdict">([^<]*)<', visitor.text) == "全价"
    assert found_in(r'<span class="gate-amount">(\d+)<', visitor.text) == "120"
    assert "经各成员市核验" in visitor.text
    assert visitor.text.count('class="badge">非本市居民') == 4  # who was asked
    named = clerk.post(
        "/sharing/tourism",
        {"attraction": ATTRACTION, "id_number": NOT_A_RESIDENT, "city": HEZE},
    )
    assert "经菏泽核验，非该市居民" in named.text


def test_a_member_down_means_full_price_and_says_so(
    site: Site, members: dict[str, str | None]
) -> None:
    members[HEZE] = None
    r = site.visit(CHAIR, "officer").post(
        "/sharing/tourism", {"attraction": ATTRACTION, "id_number": NOT_A_RESIDENT}
    )
    assert r.status_code == 200
    assert found_in(r'id="gate-verdict">([^<]*)<', r.text) == "未能核验，按全价"
    assert found_in(r'<span class="gate-amount">(\d+)<', r.text) == "120"
    assert "未能核验" in r.text and "菏泽市节点无法连接" in r.text


def test_an_invalid_id_number_is_shown_next_to_the_field(
    site: Site, members: dict[str, str | None]
) -> None:
    clerk = site.visit(CHAIR, "officer")
    bad = NOT_A_RESIDENT[:17] + "0"
    r = clerk.post("/sharing/tourism", {"attraction": ATTRACTION, "id_number": bad})
    assert r.status_code == 422
    assert (error_of(r.text, "gate", "id_number") or "").startswith("身份证号无效")
    assert 'id="gate-result"' not in r.text
    blank = clerk.post("/sharing/tourism", {"attraction": "", "id_number": ""}, htmx=True)
    assert blank.status_code == 422
    assert error_of(blank.text, "gate", "id_number") == "必填"
    assert error_of(blank.text, "gate", "attraction") == "请选择景点"
    nowhere = clerk.post(
        "/sharing/tourism", {"attraction": "999999-A01", "id_number": NOT_A_RESIDENT}
    )
    assert "没有编码为" in (error_of(nowhere.text, "gate", "attraction") or "")
    foreign = clerk.post(
        "/sharing/tourism",
        {"attraction": ATTRACTION, "id_number": NOT_A_RESIDENT, "city": "110000"},
    )
    assert "不是鲁南经济圈成员市" in (error_of(foreign.text, "gate", "city") or "")


def test_only_a_citys_data_managers_use_its_ticket_office(
    site: Site, members: dict[str, str | None]
) -> None:
    viewer = site.visit(CHAIR, "viewer")
    page = viewer.get("/sharing/tourism").text
    assert 'id="form-gate"' not in page and "核验需由本市" in page
    assert "蒙山龟蒙景区" in page  # the prices, for anyone
    form = {"attraction": ATTRACTION, "id_number": NOT_A_RESIDENT}
    assert viewer.post("/sharing/tourism", form).status_code == 403
    stranger = site.visit(CHAIR, "officer", user_city=ZAOZHUANG)
    r = stranger.post("/sharing/tourism", form)
    assert r.status_code == 403 and "无权操作" in r.text


# --- languages and nothing from outside -----------------------------------------------------------


def _texts() -> set[str]:
    found: set[str] = set()
    files = [
        *render.TEMPLATES.glob("*sharing*.html"),
        render.TEMPLATES / "overview.html",
        Path(sharing.__file__),
    ]
    for path in files:
        for m in re.finditer(r"""_\(\s*(["'])(.*?)\1""", path.read_text(encoding="utf-8")):
            found.add(m.group(2))
    return found


def test_every_sharing_text_has_an_english_version() -> None:
    texts = _texts()
    assert len(texts) > 150
    texts |= {label for _, _, label in sharing.TABS}
    texts |= {zh for zh, _ in sharing.REQUEST_STATES.values()}
    texts |= {zh for zh, _ in sharing.AGREEMENT_STATES.values()}
    texts |= set(sharing.CATEGORY_COLOURS) | set(sharing.FIELD_TYPES.values())
    texts |= set(sharing.MODES.values()) | set(sharing.RECORD_KINDS.values())
    texts |= set(sharing.AGREEMENT_CHANGES.values()) | set(sharing.SIDES.values())
    texts |= {t for pair in sharing.CHANGE_FORMS.values() for t in pair}
    texts |= set(sharing.DONE.values()) | set(sharing.REQUEST_FILTERS.values())
    texts |= {"本市目录无需申请。", "该目录已撤销，不能申请。", "该目录不予共享，不能申请。"}
    texts |= {"申请需由本市具有数据共享办理权限的用户提交。", "每日", "每月", "每季度"}
    missing = sorted(t for t in texts if t not in EN)
    assert not missing, f"no English for: {missing}"


def test_the_pages_in_english(site: Site, members: dict[str, str | None]) -> None:
    found = paths(site)
    visitor = site.visit(CHAIR, "officer")
    visitor.client.cookies.set("lunan_lang", "en")
    html = visitor.get("/sharing/incoming").text
    assert '<html lang="en">' in html and "Requests to us" in html
    r = visitor.post(f"{found['request']}/refuse", {"reason": ""})
    assert error_of(r.text, "refuse", "reason") == "Required"
    gate_page = visitor.post("/sharing/tourism", {"attraction": ATTRACTION, "id_number": ""})
    assert error_of(gate_page.text, "gate", "id_number") == "Required"


URL = re.compile(r"https?://[^\s\"'<>)]+")


def test_no_sharing_page_names_a_url_outside_the_alliance(
    site: Site, members: dict[str, str | None]
) -> None:
    found = paths(site)
    visitor = site.visit(CHAIR, "admin")
    parts = site.app(CHAIR).state.parts
    allowed = {parts.config.url.rstrip("/")} | {m.url.rstrip("/") for m in parts.alliance.members}
    for lang in ("en", "zh-CN"):
        visitor.client.cookies.set("lunan_lang", lang)
        pages = [visitor.get(p.format(**found)).text for p, _ in PAGES]
        pages.append(
            visitor.post("/sharing/tourism", {"attraction": ATTRACTION, "id_number": "1"}).text
        )
        pages.append(visitor.get("/").text)
        for html in pages:
            for url in URL.findall(html):
                assert any(url.startswith(a + "/") or url == a for a in allowed), url
            for src in re.findall(r'(?:src|href|action|hx-get|hx-post)="([^"]+)"', html):
                assert not src.startswith("//") and not src.startswith("http"), src
            assert not re.search(r'<script(?![^>]*(\bsrc=|type="application/json"))', html)
    for path in render.TEMPLATES.glob("*sharing*.html"):
        assert not URL.findall(path.read_text(encoding="utf-8")), path


def test_form_fields_map_the_domains_error_paths() -> None:
    known = ["fields", "period_start", "period_end", "row_filter", "quota", "reason"]
    assert sharing.form_field("period.end", known) == "period_end"
    assert sharing.form_field(("period", "start"), known) == "period_start"
    assert sharing.form_field(("period",), known) == "period_start"
    assert sharing.form_field("fields[2]", known) == "fields"
    assert sharing.form_field("row_filter.登记状态", known) == "row_filter"
    assert sharing.form_field("dataset", known) == ""
    assert sharing.form_field(None, known) == ""
    assert sharing.mask(NOT_A_RESIDENT) == "1101**********4514"
    assert sharing.url_of("data-agreement/371300/3") == "/sharing/agreements/371300/3"
    assert len(registry.ATTRACTIONS) == sum(
        len(g.attractions) for g in sharing.attraction_groups(list(CITIES))
    )
    assert Permission.MANAGE_DATA in ROLE_PERMISSIONS[Role.OFFICER]
