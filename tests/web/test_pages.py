"""The web pages: every page for every role, role checks on every action, forms that say what is
wrong next to the field in Chinese, CSRF, languages, and no URL outside the alliance.

Each city's node is an app over the four-city logs (tests/factories.py), with the pages
installed; people sign in through the sign-in page, as in a browser.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import (
    CHAIR,
    CITIES,
    CoopLedger,
    Visitor,
    coop_ledger,
    error_of,
    login_token,
    make_node,
    page_sign_in,
    pages_app,
    signed_in_visitor,
    task_fields,
    title_of,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook

from lunan.auth import passwords, users
from lunan.auth.roles import ROLE_LABELS, ROLE_PERMISSIONS, Permission, Role
from lunan.coop import queries as coop_queries
from lunan.coop.models import AREAS, COLOURS, NOTICE_KINDS, SOURCES, STATUSES
from lunan.coop.queries import today_in_shanghai
from lunan.governance import actions as gov_actions
from lunan.governance.models import (
    AGREEMENT_KINDS,
    BODY_KINDS,
    MEETING_STATUSES,
    AgreementFields,
    MeetingFields,
)
from lunan.indicators.events import INDICATORS
from lunan.web.app import create_app
from lunan.web.pages import account, chain, ledger, render
from lunan.web.pages.i18n_en import EN

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
PASSWORD = "pages-test-password"
TEMPLATES = render.TEMPLATES
TODAY = today_in_shanghai()


# --- the nodes and the people -------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("cheap_hasher")


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Response:
    return page_sign_in(client, name, password, next="/tasks")


@dataclass
class Site:
    """The four cities' nodes, each with the pages; `visit(city, role)` signs someone in."""

    ledger: CoopLedger
    apps: dict[str, FastAPI]
    opened: list[TestClient]

    def app(self, city: str) -> FastAPI:
        if city not in self.apps:
            led = self.ledger
            self.apps[city] = pages_app(led.h, led.parts[city], led.directory)
        return self.apps[city]

    def user(self, city: str, role: str) -> str:
        name = f"{role}-{city}"
        if users.get_user(self.ledger.engine, name) is None:
            users.add_user(self.ledger.engine, city, name, role, PASSWORD, f"{CITIES[city]}{role}")
        return name

    def anonymous(self, city: str = CHAIR) -> Visitor:
        client = TestClient(self.app(city))
        client.__enter__()
        self.opened.append(client)
        return Visitor(client)

    def visit(self, city: str = CHAIR, role: str = "coordinator", user_city: str = "") -> Visitor:
        """Signed in through the sign-in page as `role` of `user_city` (default: `city`)."""
        client = self.anonymous(city).client
        return signed_in_visitor(client, self.user(user_city or city, role), PASSWORD)

    def task(self, **changes: Any) -> str:
        """A task registered by the chair (枣庄 leads and 济宁 helps, unless changed)."""
        values: dict[str, Any] = {
            "number": f"T-{len(coop_queries.list_tasks(self.ledger.engine)) + 1}",
            "start": (TODAY - timedelta(days=90)).isoformat(),
            "deadline": (TODAY + timedelta(days=30)).isoformat(),
            **changes,
        }
        return self.ledger.create(**values)

    def sizes(self) -> dict[str, int]:
        return self.ledger.sizes()


def _site(directory: Path, database: str | None = None) -> Iterator[Site]:
    with coop_ledger(directory, *([database] if database else [])) as led:
        s = Site(led, {}, [])
        yield s
        for client in s.opened:
            client.__exit__(None, None, None)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """On SQLite: the pages do nothing a database could do differently…"""
    yield from _site(tmp_path)


@pytest.fixture
def site_db(tmp_path: Path, database_url: str) -> Iterator[Site]:
    """…except through the domains' writes, which the main flows also check on PostgreSQL."""
    yield from _site(tmp_path, database_url)


def page_of(task_id: str) -> str:
    return "/tasks/" + task_id.removeprefix("task/")


def a_meeting_and_an_agreement(site: Site) -> tuple[str, str]:
    parts = site.ledger.parts[CHAIR]
    chair = coop_actions_user(CHAIR)
    meeting = gov_actions.create_meeting(
        parts,
        chair,
        MeetingFields(number=1, title="第1次联席会议（示例数据）", date=TODAY, host_city=CHAIR),
    )
    agreement = gov_actions.create_agreement(
        dataclasses.replace(parts, alliance=site.app(CHAIR).state.parts.alliance),
        chair,
        AgreementFields(
            title="合作框架协议（示例数据）",
            kind="框架协议",
            text="（示例数据）四市共同推进。",
            parties=(CHAIR, ZAOZHUANG),
        ),
    )
    return meeting, agreement


def coop_actions_user(city: str, role: str = "coordinator") -> users.User:
    return users.User(0, f"u{city}-{role}", Role(role), city, "", False)


# --- every page, every role ---------------------------------------------------------------

PAGES = [
    ("/", "总览"),
    ("/tasks", "台账"),
    ("{task}", "T-1"),
    ("/meetings", "联席会议"),
    ("{meeting}", "第1次联席会议"),
    ("/agreements", "协议"),
    ("{agreement}", "合作框架协议"),
    ("/chain", "联盟账本"),
    ("/chain/events", "事件"),
    ("{event}", "临沂 #"),
    ("/node", "节点"),
    ("/account", "我的账户"),
]
MANAGER_PAGES = [("/tasks/new", "立项交办"), ("/tasks/import", "导入 Excel")]


def filled(site: Site) -> dict[str, str]:
    task = site.task()
    meeting, agreement = a_meeting_and_an_agreement(site)
    created = coop_queries.get_task(site.ledger.engine, task)
    assert created is not None
    origin, idx = created.created.split(":")
    return {
        "task": page_of(task),
        "meeting": "/meetings/" + meeting.removeprefix("meeting/"),
        "agreement": "/agreements/" + agreement.removeprefix("agreement/"),
        "event": f"/chain/events/{origin}/{idx}",
    }


# Every role that reads; the gate role (检票员) opens one page only: tests/auth/test_gate_role.py.
@pytest.mark.parametrize("role", [r.value for r in Role if Permission.READ in ROLE_PERMISSIONS[r]])
def test_every_page_renders_for_every_role(site: Site, role: str) -> None:
    paths = filled(site)
    visitor = site.visit(CHAIR, role)
    manager = Permission.MANAGE_TASKS in ROLE_PERMISSIONS[Role(role)]
    for path, expected in PAGES + MANAGER_PAGES:
        r = visitor.get(path.format(**paths))
        if (path, expected) in MANAGER_PAGES and not manager:
            assert r.status_code == 403, (role, path)
            assert "无权操作" in r.text
            continue
        assert r.status_code == 200, (role, path, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in r.text
        assert expected in title_of(r.text), (path, title_of(r.text))
        assert "数字鲁南" in title_of(r.text)
        assert ROLE_LABELS[Role(role)][0] in r.text  # who is signed in, in the header
        assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_visitor_who_has_not_signed_in_is_sent_to_sign_in_except_for_the_ledger(
    site: Site,
) -> None:
    paths = filled(site)
    visitor = site.anonymous()
    for path, _ in PAGES + MANAGER_PAGES:
        url = path.format(**paths)
        r = visitor.get(url, follow_redirects=False)
        if url.startswith("/chain"):
            assert r.status_code == 200, url  # public, like the logs and /api/v1/events
            assert "登录" in r.text
        else:
            assert r.status_code == 303, url
            assert r.headers["location"].startswith("/login?next=")
    r = visitor.get("/tasks?colour=红", follow_redirects=False)
    login = visitor.get(r.headers["location"]).text  # the way back, kept through sign-in
    assert 'name="next" value="/tasks?colour=%E7%BA%A2"' in login
    htmx = visitor.get("/tasks", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"].startswith("/login?next=")


def test_an_unknown_object_is_a_404_page(site: Site) -> None:
    visitor = site.visit()
    for path in (
        "/tasks/371300/99",
        "/tasks/abc/1",
        "/meetings/371300/9",
        "/agreements/371300/9",
        "/chain/events/371300/999",
        "/chain/events/999999/0",
    ):
        r = visitor.get(path)
        assert r.status_code == 404, path
        assert "未找到" in r.text and "<html" in r.text


# --- signing in and one's own page ----------------------------------------------------------


def test_signing_in_sets_an_httponly_session_cookie_and_returns_to_the_page(site: Site) -> None:
    visitor = site.anonymous()
    r = sign_in(visitor.client, site.user(CHAIR, "officer"))
    assert r.status_code == 303 and r.headers["location"] == "/tasks"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("lunan_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


def test_a_wrong_password_or_a_forged_form_signs_nobody_in(site: Site) -> None:
    visitor = site.anonymous()
    name = site.user(CHAIR, "viewer")
    wrong = sign_in(visitor.client, name, "not-the-password")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    empty = sign_in(visitor.client, "")
    assert empty.status_code == 422 and error_of(empty.text, "login", "name") == "必填"
    visitor.client.cookies.clear()
    forged = visitor.client.post(
        "/login", data={"name": name, "password": PASSWORD, "login_token": "x"}
    )
    assert forged.status_code == 403 and "登录表单已过期" in forged.text
    assert "lunan_session" not in visitor.client.cookies


def test_sign_in_never_redirects_to_another_site(site: Site) -> None:
    visitor = site.anonymous()
    token = login_token(visitor.get("/login").text)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = visitor.client.post(
            "/login",
            data={
                "name": site.user(CHAIR, "viewer"),
                "password": PASSWORD,
                "login_token": token,
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/", target
        token = login_token(visitor.get("/login").text)


def test_sign_out_ends_the_session(site: Site) -> None:
    visitor = site.visit(CHAIR, "viewer")
    r = visitor.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert visitor.get("/tasks", follow_redirects=False).status_code == 303


def test_changing_ones_password_says_what_is_wrong_next_to_the_field(site: Site) -> None:
    visitor = site.visit(CHAIR, "officer")
    r = visitor.post("/account/password", {"old": "nope", "new": "short", "again": "other"})
    assert r.status_code == 422
    assert error_of(r.text, "password", "new") == f"新密码至少{passwords.MIN_LENGTH}个字符"
    assert error_of(r.text, "password", "again") == "两次输入的新密码不一致"
    r = visitor.post(
        "/account/password",
        {"old": "wrong-password", "new": "a-new-password", "again": "a-new-password"},
    )
    assert r.status_code == 403 and error_of(r.text, "password", "old") == "当前密码不正确"
    r = visitor.post(
        "/account/password", {"old": PASSWORD, "new": "a-new-password", "again": "a-new-password"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?ok=password"
    # The browser got a new session; the old password no longer works.
    assert "密码已修改" in visitor.get("/account?ok=password").text
    again = site.anonymous()
    assert sign_in(again.client, site.user(CHAIR, "officer")).status_code == 401
    assert sign_in(again.client, site.user(CHAIR, "officer"), "a-new-password").status_code == 303


def test_api_tokens_are_shown_once_listed_and_revoked(site: Site) -> None:
    visitor = site.visit(CHAIR, "officer")
    r = visitor.post("/account/tokens", {"label": "景区闸机"})
    assert r.status_code == 200
    token = re.search(r'id="new-token">(lnt_[^<]+)<', r.text)
    assert token is not None
    api = site.anonymous().client
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert me.status_code == 200 and me.json()["user"]["name"] == site.user(CHAIR, "officer")
    page = visitor.get("/account").text
    assert "景区闸机" in page and token.group(1) not in page
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', page)
    assert token_id is not None
    r = visitor.post(f"/account/tokens/{token_id.group(1)}/revoke")
    assert r.status_code == 303
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert me.status_code == 401
    bad = visitor.post("/account/tokens", {"label": "a\nb"})
    assert bad.status_code == 422 and error_of(bad.text, "token", "label")
    assert visitor.post("/account/tokens/999/revoke").status_code == 404


# --- CSRF -----------------------------------------------------------------------------------


def test_a_form_without_the_sessions_csrf_token_is_refused_and_stores_nothing(site: Site) -> None:
    task = site.task(lead_city=CHAIR, partner_cities=())
    visitor = site.visit(CHAIR, "coordinator")
    before = site.sizes()
    report = {"period": "2026-11", "progress": "50"}
    for token in ("", "forged"):
        r = visitor.client.post(
            f"{page_of(task)}/reports", data={**report, "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 403 and "跨站请求校验失败" in r.text
    assert site.sizes() == before
    r = visitor.post(f"{page_of(task)}/reports", report)
    assert r.status_code == 303
    assert site.sizes()[CHAIR] == before[CHAIR] + 1


# --- the ledger -----------------------------------------------------------------------------


def test_the_chair_registers_a_task_through_the_form(site_db: Site) -> None:
    site = site_db
    visitor = site.visit(CHAIR, "coordinator")
    form = visitor.get("/tasks/new").text
    assert "交通互联" in form and 'name="partner_cities"' in form
    r = visitor.post(
        "/tasks/new",
        {
            "number": "LN-99",
            "title": "鲁南高铁沿线示例任务（示例数据）",
            "area": "交通互联",
            "source": "work-points",
            "lead_city": ZAOZHUANG,
            "lead_department": "枣庄市交通运输局",
            "partner_cities": [JINING, HEZE],
            "start": TODAY.isoformat(),
            "deadline": (TODAY + timedelta(days=200)).isoformat(),
            "milestones": f"{(TODAY + timedelta(days=100)).isoformat()} 完成方案\n",
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?ok=created")
    page = visitor.get(r.headers["location"]).text
    assert "任务已立项交办" in page and "LN-99" in page and "完成方案" in page
    view = coop_queries.task_by_number(site.ledger.engine, "LN-99")
    assert view is not None and view.fields.partner_cities == (JINING, HEZE)


def test_the_task_form_shows_each_error_next_to_its_field_in_chinese(site: Site) -> None:
    site.task(number="LN-1")
    visitor = site.visit(CHAIR, "coordinator")
    before = site.sizes()
    r = visitor.post(
        "/tasks/new",
        {
            "number": "",
            "title": "",
            "area": "交通互联",
            "source": "meeting",
            "lead_city": ZAOZHUANG,
            "lead_department": "局",
            "partner_cities": [ZAOZHUANG],
            "start": "2026-05-01",
            "deadline": "2026-04-01",
            "weight": "500",
            "milestones": "下月 完成方案",
        },
    )
    assert r.status_code == 422
    assert error_of(r.text, "task", "number") == "必填"
    assert error_of(r.text, "task", "title") == "必填"
    assert "完成时限早于开始日期" in (error_of(r.text, "task", "deadline") or "")
    assert "牵头城市不能同时为配合城市" in (error_of(r.text, "task", "partner_cities") or "")
    assert error_of(r.text, "task", "weight") == "不能大于100"
    assert error_of(r.text, "task", "milestones") == "第1行应为“YYYY-MM-DD 节点名称”"
    assert 'aria-invalid="true"' in r.text and 'value="局"' in r.text  # typed values kept
    # An error only the action finds (a number in use) is shown next to its field too.
    r = visitor.post(
        "/tasks/new",
        {
            "number": "LN-1",
            "title": "另一任务（示例数据）",
            "area": "交通互联",
            "source": "meeting",
            "lead_city": ZAOZHUANG,
            "lead_department": "局",
            "start": "2026-01-01",
            "deadline": "2026-12-31",
        },
        htmx=True,
    )
    assert r.status_code == 409
    assert r.text.startswith('<form id="task-form"')  # the form alone, swapped in place
    assert "编号 LN-1 已被任务" in (error_of(r.text, "task", "number") or "")
    assert site.sizes() == before


def test_only_the_chair_citys_coordinators_register_tasks(site: Site) -> None:
    before = site.sizes()
    for city, role, user_city in [
        (CHAIR, "officer", CHAIR),
        (CHAIR, "viewer", CHAIR),
        (ZAOZHUANG, "coordinator", ZAOZHUANG),  # not the chair city
        (CHAIR, "coordinator", ZAOZHUANG),  # a user of another city on the chair's node
    ]:
        visitor = site.visit(city, role, user_city)
        assert visitor.get("/tasks/new").status_code == 403, (city, role, user_city)
        r = visitor.post("/tasks/new", {"number": "X", "title": "X"})
        assert r.status_code == 403 and "无权操作" in r.text
        assert "立项交办</a>" not in visitor.get("/tasks").text  # no button either
    assert site.sizes() == before


def test_reporting_progress_changes_the_colour(site_db: Site) -> None:
    site = site_db
    # Started 90 days ago, due in 30: 75 % expected, nothing reported → 红.
    task = site.task(lead_city=CHAIR, partner_cities=(ZAOZHUANG,))
    visitor = site.visit(CHAIR, "officer")
    page = visitor.get(page_of(task)).text
    assert 'id="task-colour"><span class="badge colour-red"' in page
    r = visitor.post(
        f"{page_of(task)}/reports",
        {"period": TODAY.strftime("%Y-%m"), "progress": "75", "done": "（示例数据）进展顺利"},
        htmx=True,
    )
    assert r.status_code == 200
    assert r.text.startswith('<div id="task"')  # the task, refreshed in place
    assert 'id="task-colour"><span class="badge colour-green"' in r.text
    assert "进展已报送" in r.text and "（示例数据）进展顺利" in r.text
    history = coop_queries.colour_history(site.ledger.engine, task)
    assert history is not None and history[-1].colour == "绿"


def test_a_bad_report_is_shown_in_its_form_and_stores_nothing(site: Site) -> None:
    task = site.task(lead_city=CHAIR, partner_cities=())
    visitor = site.visit(CHAIR, "officer")
    before = site.sizes()
    r = visitor.post(f"{page_of(task)}/reports", {"period": "", "progress": "150"}, htmx=True)
    assert r.status_code == 422
    assert r.headers["HX-Retarget"] == "#form-report" and r.headers["HX-Reswap"] == "outerHTML"
    assert r.text.startswith('<form id="form-report"')
    assert error_of(r.text, "report", "period") == "必填"
    assert error_of(r.text, "report", "progress") == "不能大于100"
    full = visitor.post(f"{page_of(task)}/reports", {"period": "2026-11", "progress": "x"})
    assert full.status_code == 422 and "<html" in full.text
    assert error_of(full.text, "report", "progress") == "应为整数"
    assert site.sizes() == before


def test_who_may_report_remind_and_decide_is_checked_on_the_server(site: Site) -> None:
    task = site.task()  # 枣庄 leads, 济宁 helps
    before = site.sizes()
    report = {"period": "2026-11", "progress": "10"}
    refused = [
        (CHAIR, "viewer", "reports", report),  # no permission
        (CHAIR, "auditor", "reports", report),
        (CHAIR, "officer", "reports", report),  # 临沂 neither leads nor helps
        (HEZE, "officer", "reports", report),
        (ZAOZHUANG, "viewer", "reports", report),
        (CHAIR, "officer", "notices", {"kind": "催办", "message": "请加快"}),  # not a manager
        (ZAOZHUANG, "coordinator", "notices", {"kind": "催办", "message": "x"}),  # not the chair
        (JINING, "officer", "extensions", {"new_deadline": "2030-01-01", "reason": "x"}),
        (JINING, "coordinator", "completions", {"summary": "x"}),  # only the lead asks
    ]
    for city, role, action, data in refused:
        visitor = site.visit(city, role)
        r = visitor.post(f"{page_of(task)}/{action}", data)
        assert r.status_code == 403, (city, role, action, r.text[:300])
        assert "无权操作" in r.text and "<html" in r.text
        htmx = visitor.post(f"{page_of(task)}/{action}", data, htmx=True)
        assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#main"
    assert site.sizes() == before
    # …and the page offers no such form to them.
    page = site.visit(CHAIR, "viewer").get(page_of(task)).text
    assert 'id="form-report"' not in page and 'id="form-notice"' not in page


def test_the_chair_reminds_the_lead_who_acknowledges(site: Site) -> None:
    task = site.task()
    chair = site.visit(CHAIR, "coordinator")
    page = chair.get(page_of(task)).text
    assert 'id="form-notice"' in page
    r = chair.post(
        f"{page_of(task)}/notices",
        {"kind": "催办", "message": "请于本月底前报送进展（示例数据）", "due": ""},
        htmx=True,
    )
    assert r.status_code == 200 and "通知已发出" in r.text
    assert "请于本月底前报送进展（示例数据）" in r.text and "未签收" in r.text
    (notice,) = coop_queries.list_tasks(site.ledger.engine)[0].notices
    assert notice.to_city == ZAOZHUANG
    lead = site.visit(ZAOZHUANG, "officer")
    page = lead.get(page_of(task)).text
    assert f'value="{notice.id}"' in page
    r = lead.post(f"{page_of(task)}/acknowledge", {"notice": notice.id})
    assert r.status_code == 303
    assert "已签收" in lead.get(r.headers["location"]).text
    again = lead.post(f"{page_of(task)}/acknowledge", {"notice": notice.id}, htmx=True)
    assert again.status_code == 409 and "已签收" in again.text
    missing = chair.post(f"{page_of(task)}/notices", {"kind": "", "message": ""}, htmx=True)
    assert missing.status_code == 422
    assert error_of(missing.text, "notice", "message") == "必填"
    assert error_of(missing.text, "notice", "kind") == "格式或取值无效"


def test_the_lead_asks_for_an_extension_and_the_chair_approves(site: Site) -> None:
    task = site.task()
    lead = site.visit(ZAOZHUANG, "coordinator")
    deadline = TODAY + timedelta(days=30)
    early = lead.post(
        f"{page_of(task)}/extensions",
        {"new_deadline": deadline.isoformat(), "reason": "（示例数据）"},
        htmx=True,
    )
    assert early.status_code == 422
    assert "须晚于现完成时限" in (error_of(early.text, "extension", "new_deadline") or "")
    later = (deadline + timedelta(days=60)).isoformat()
    r = lead.post(
        f"{page_of(task)}/extensions", {"new_deadline": later, "reason": "（示例数据）征地延后"}
    )
    assert r.status_code == 303
    chair = site.visit(CHAIR, "coordinator")
    page = chair.get(page_of(task)).text
    request = re.search(r'name="request" value="(extension/370400/\d+)"', page)
    assert request is not None
    none = chair.post(f"{page_of(task)}/decisions", {"request": request.group(1)}, htmx=True)
    assert none.status_code == 422 and "请选择批准或不批准" in none.text
    r = chair.post(
        f"{page_of(task)}/decisions",
        {"request": request.group(1), "approve": "1", "reason": "同意"},
        htmx=True,
    )
    assert r.status_code == 200 and "审批已完成" in r.text
    assert 'id="task-status">已延期<' in r.text and later in r.text
    officer = site.visit(CHAIR, "officer")
    assert officer.post(f"{page_of(task)}/decisions", {"request": "x"}).status_code == 403


def test_the_lead_asks_for_completion_and_the_chair_closes_the_task(site: Site) -> None:
    task = site.task()
    site.ledger.report(ZAOZHUANG, task, 100, period=TODAY.strftime("%Y-%m"))
    lead = site.visit(ZAOZHUANG, "officer")
    assert lead.post(f"{page_of(task)}/completions", {"summary": ""}).status_code == 422
    assert lead.post(f"{page_of(task)}/completions", {"summary": "已建成"}).status_code == 303
    chair = site.visit(CHAIR, "coordinator")
    page = chair.get(page_of(task)).text
    request = re.search(r'name="request" value="(completion/370400/\d+)"', page)
    assert request is not None
    r = chair.post(f"{page_of(task)}/decisions", {"request": request.group(1), "approve": "1"})
    assert r.status_code == 303
    page = chair.get(page_of(task)).text
    assert 'id="task-status">已办结<' in page
    assert 'id="form-report"' not in lead.get(page_of(task)).text  # closed: no more reports


def test_the_list_filters_and_sorts_and_htmx_gets_the_table_alone(site: Site) -> None:
    red = site.task(number="R-1")  # nothing reported: 红
    green = site.task(number="G-1", lead_city=JINING, partner_cities=(HEZE,))
    site.ledger.report(JINING, green, 80)
    visitor = site.visit(HEZE, "viewer")
    page = visitor.get("/tasks", params={"colour": "红"}).text
    assert page_of(red) in page and page_of(green) not in page
    table = visitor.get("/tasks", params={"partner_city": HEZE}, headers={"HX-Request": "true"})
    assert table.text.startswith('<div id="task-table"')
    assert page_of(green) in table.text and page_of(red) not in table.text
    assert "/tasks/export.xlsx?partner_city=371700" in table.text
    ordered = visitor.get("/tasks", params={"sort": "-progress"}).text
    assert ordered.index(page_of(green)) < ordered.index(page_of(red))
    odd = visitor.get("/tasks", params={"sort": "nonsense", "colour": "紫", "due_before": "x"})
    assert odd.status_code == 200 and page_of(red) in odd.text


def test_the_spreadsheet_exports_and_imports_all_or_nothing(site_db: Site) -> None:
    site = site_db
    site.task(number="LN-1")
    chair = site.visit(CHAIR, "coordinator")
    r = chair.get("/tasks/export.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    exported = r.content
    same = chair.post(
        "/tasks/import", files={"file": ("台账.xlsx", exported, "application/octet-stream")}
    )
    assert same.status_code == 200 and "新建0项，更新0项，未变1项。" in same.text
    book = load_workbook(io.BytesIO(exported))
    sheet = book["台账"]
    sheet.append(["LN-2", "", "交通互联"])  # no title, no dates, no lead: several problems
    broken = io.BytesIO()
    book.save(broken)
    before = site.sizes()
    bad = chair.post("/tasks/import", files={"file": ("x.xlsx", broken.getvalue(), "a/b")})
    assert bad.status_code == 422
    assert "表格中的错误" in bad.text and "未导入任何内容" in (
        error_of(bad.text, "import", "file") or ""
    )
    assert bad.text.count("<tr>") >= 3  # a row per bad cell
    nothing = chair.post("/tasks/import", data={"csrf_token": chair.csrf})
    assert nothing.status_code == 422
    assert error_of(nothing.text, "import", "file") == "请选择要导入的 .xlsx 文件"
    assert site.sizes() == before
    officer = site.visit(CHAIR, "officer")
    refused = officer.post("/tasks/import", files={"file": ("x.xlsx", exported, "a/b")})
    assert refused.status_code == 403
    assert officer.get("/tasks/export.xlsx").status_code == 200


def test_a_task_page_shows_milestones_reports_history_and_links_to_events(site: Site) -> None:
    task = site.task(
        milestones=[{"date": TODAY.isoformat(), "title": "中期评估"}],
        attachments=[{"name": "方案.pdf", "sha256": "ab" * 32, "size": 2048}],
    )
    site.ledger.report(ZAOZHUANG, task, 40)
    site.ledger.report(JINING, task, 20)
    page = site.visit(HEZE, "auditor").get(page_of(task)).text
    assert "中期评估" in page and "今天" in page
    assert "方案.pdf" in page and "ab" * 32 in page and "2.0 KB" in page
    assert page.index("枣庄") < page.index("济宁")  # the lead's reports first
    assert "落后序时进度" in page  # why the colour
    view = coop_queries.get_task(site.ledger.engine, task)
    assert view is not None
    origin, idx = view.lead_reports[0].position.split(":")
    assert f'href="/chain/events/{origin}/{idx}"' in page


# --- meetings and agreements ----------------------------------------------------------------


def test_meetings_show_the_chair_and_its_terms(site: Site) -> None:
    meeting, _ = a_meeting_and_an_agreement(site)
    page = site.visit(JINING, "viewer").get("/meetings").text
    assert "本届任期" in page and "2021-05-13" in page and "第1次联席会议（示例数据）" in page
    detail = site.visit(JINING, "viewer").get("/meetings/" + meeting.removeprefix("meeting/"))
    assert "筹备中" in detail.text


def test_a_partys_coordinator_signs_the_agreement_text_it_read(site_db: Site) -> None:
    site = site_db
    _, agreement = a_meeting_and_an_agreement(site)
    url = "/agreements/" + agreement.removeprefix("agreement/")
    page = site.visit(CHAIR, "viewer").get(url).text
    digest = re.search(r'id="text-hash">([0-9a-f]{64})<', page)
    assert digest is not None
    assert digest.group(1) == hashlib.sha256("（示例数据）四市共同推进。".encode()).hexdigest()
    assert "签署中" in page and 'id="form-sign"' not in page
    before = site.sizes()
    for city, role in [(ZAOZHUANG, "officer"), (HEZE, "coordinator")]:  # no right; no party
        visitor = site.visit(city, role)
        assert 'id="form-sign"' not in visitor.get(url).text
        r = visitor.post(f"{url}/sign", {"text_sha256": digest.group(1)})
        assert r.status_code == 403 and "无权操作" in r.text
    assert site.sizes() == before
    signer = site.visit(ZAOZHUANG, "coordinator")
    assert 'id="form-sign"' in signer.get(url).text
    stale = signer.post(f"{url}/sign", {"text_sha256": "0" * 64}, htmx=True)
    assert stale.status_code == 409 and "协议文本已更新" in stale.text
    r = signer.post(f"{url}/sign", {"text_sha256": digest.group(1)}, htmx=True)
    assert r.status_code == 200 and r.text.startswith('<div id="agreement"')
    parties = re.findall(r"<td data-label=\"现行文本\"><span class=\"badge state-(\w+)\">", r.text)
    assert parties == ["yellow", "green"]  # 临沂 not yet, 枣庄 now
    # The drafter signs too: then it is in force.
    gov_actions.sign_agreement(site.ledger.parts[CHAIR], coop_actions_user(CHAIR), agreement)
    assert "已生效" in signer.get(url).text


# --- the alliance ledger and the node -------------------------------------------------------


def test_an_event_page_shows_its_content_and_a_verified_inclusion_proof(site: Site) -> None:
    task = site.task()
    view = coop_queries.get_task(site.ledger.engine, task)
    assert view is not None
    origin, idx = view.created.split(":")
    page = site.anonymous().get(f"/chain/events/{origin}/{idx}").text
    assert 'id="proof-result"><span class="badge state-green">✓ 已验证' in page
    assert "coop.task.created" in page and task in page
    assert f'href="{page_of(task)}"' in page


def test_the_ledger_lists_each_log_and_the_refused_events(site: Site) -> None:
    site.task()
    page = site.visit(CHAIR, "auditor").get("/chain").text
    for city, name in CITIES.items():
        assert f"lunan/{city}" in page and name in page
    assert "联盟状态哈希" in page and "被拒绝的事件" in page
    rejected = site.visit(CHAIR, "auditor").get("/chain/events", params={"status": "rejected"})
    assert rejected.status_code == 200


def test_the_node_page_without_an_alliance_process_says_so(site: Site) -> None:
    page = site.visit(CHAIR, "viewer").get("/node").text
    assert "本节点未加入联盟" in page and "软件版本" in page and "0.1.0" in page
    assert "日志可读写" in page


def test_log_statuses_name_cosigners_and_finality(site: Site) -> None:
    """Without a running federation nothing is cosigned, so nothing is final yet."""
    visitor = site.visit(CHAIR, "viewer")
    assert visitor.get("/chain").status_code == 200
    request = type("R", (), {"app": site.app(CHAIR)})()
    statuses = chain.log_statuses(request)  # type: ignore[arg-type]
    assert [s.city for s in statuses] == list(CITIES)
    own = statuses[0]
    assert own.own and own.size >= 1 and own.final_size == 0 and own.finality_lag == own.size
    assert own.state == ("yellow", "确认中")


def test_a_node_outside_any_alliance_shows_its_own_log_only(tmp_path: Path) -> None:
    app = create_app(make_node(tmp_path))
    users.add_user(app.state.log.engine, CHAIR, "viewer-1", "viewer", PASSWORD)
    with TestClient(app) as client:
        assert sign_in(client, "viewer-1").status_code == 303
        for path in ("/", "/tasks", "/meetings", "/agreements", "/chain", "/node"):
            r = client.get(path)
            assert r.status_code == 200, path
        assert "未加入联盟" in client.get("/chain").text
        assert "本节点未加入联盟" in client.get("/node").text


# --- languages ------------------------------------------------------------------------------


def test_the_language_switch_is_remembered_in_a_cookie(site: Site) -> None:
    visitor = site.visit(CHAIR, "coordinator")
    r = visitor.get("/lang/en", params={"next": "/tasks?colour=红"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tasks?colour=%E7%BA%A2"
    page = visitor.get("/tasks").text
    assert '<html lang="en">' in page and "Task ledger" in page and "<title>Task ledger" in page
    assert 'hreflang="zh-CN"' in page  # the way back
    assert visitor.get("/lang/xx", follow_redirects=False).status_code == 303
    assert '<html lang="en">' in visitor.get("/").text  # an unknown language changes nothing
    away = visitor.get("/lang/zh-CN", params={"next": "//evil.example"}, follow_redirects=False)
    assert away.headers["location"] == "/"
    assert '<html lang="zh-CN">' in visitor.get("/").text


def test_errors_in_english_when_english_is_chosen(site: Site) -> None:
    task = site.task(lead_city=CHAIR, partner_cities=())
    visitor = site.visit(CHAIR, "officer")
    visitor.client.cookies.set("lunan_lang", "en")
    r = visitor.post(f"{page_of(task)}/reports", {"period": "", "progress": "150"})
    assert error_of(r.text, "report", "period") == "Required"
    assert error_of(r.text, "report", "progress") == "Must be at most 100"


def _translated_texts() -> set[str]:
    found: set[str] = set()
    files = [*TEMPLATES.glob("*.html"), *Path(render.__file__).parent.glob("*.py")]
    for path in files:
        for m in re.finditer(r"""_\(\s*(["'])(.*?)\1""", path.read_text(encoding="utf-8")):
            found.add(m.group(2))
    return found


def test_every_text_the_pages_translate_has_an_english_version() -> None:
    texts = _translated_texts()
    assert len(texts) > 200
    texts |= {n.label for n in render.NAV}
    texts |= set(COLOURS) | set(STATUSES) | set(AREAS) | set(SOURCES.values()) | set(NOTICE_KINDS)
    texts |= set(MEETING_STATUSES.values()) | set(AGREEMENT_KINDS) | set(BODY_KINDS)
    texts |= {"待审批", "已批准", "未批准", "已生效", "签署中"}
    texts |= {zh for zh, _ in ROLE_LABELS.values()} | set(CITIES.values())
    texts |= {i.name for i in INDICATORS} | {i.unit for i in INDICATORS}
    texts |= set(ledger.DONE.values()) | set(account.DONE.values())
    texts |= {"日志可读写", "投影已跟上各日志", "见证提交", "投影折叠", "本日志已确认"}
    texts |= {"分叉告警", "已停止跟随", "连接异常", "未加入联盟", "确认中", "已确认"}
    texts |= {"无权操作", "未找到", "跨站请求校验失败", "未登录"}
    texts |= {"开始", "节点事项", "今天", "延期至"}
    missing = sorted(t for t in texts if t not in EN)
    assert not missing, f"no English for: {missing}"


# --- nothing from outside the alliance ------------------------------------------------------

URL = re.compile(r"https?://[^\s\"'<>)]+")


def test_no_template_or_own_static_file_names_an_external_url() -> None:
    own = [*TEMPLATES.rglob("*.html"), render.STATIC / "app.css", render.STATIC / "app.js"]
    for path in own:
        assert not URL.findall(path.read_text(encoding="utf-8")), path
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        # Scripts and styles only from this node, and no inline script to run.
        for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', text):
            assert src.startswith(("{{ static", "data:")), (path, src)
        assert not re.search(r'<script(?![^>]*(\bsrc=|type="application/json"))', text), path
        assert not re.search(r"<[^>]+\son[a-z]+=", text), path  # no inline handlers


def test_no_rendered_page_names_a_url_outside_the_alliance(site: Site) -> None:
    paths = filled(site)
    visitor = site.visit(CHAIR, "admin")
    parts = site.app(CHAIR).state.parts
    allowed = {parts.config.url.rstrip("/")} | {m.url.rstrip("/") for m in parts.alliance.members}
    pages = [p.format(**paths) for p, _ in PAGES + MANAGER_PAGES] + ["/login"]
    visitor.client.cookies.set("lunan_lang", "en")
    for lang in ("en", "zh-CN"):
        visitor.client.cookies.set("lunan_lang", lang)
        for path in pages:
            html = visitor.get(path).text
            for url in URL.findall(html):
                assert any(url.startswith(a + "/") or url == a for a in allowed), (path, url)
            for src in re.findall(r'(?:src|href)="([^"]+)"', html):
                assert not src.startswith("//"), (path, src)


def test_vendored_files_match_the_checksums_recorded() -> None:
    doc = (render.STATIC / "VENDORED.md").read_text(encoding="utf-8")
    recorded = dict(re.findall(r"\| `(vendor/[^`]+)` \| `([0-9a-f]{64})` \|", doc))
    assert set(recorded) == {f"vendor/{p.name}" for p in (render.STATIC / "vendor").iterdir()}
    for name, digest in recorded.items():
        assert hashlib.sha256((render.STATIC / name).read_bytes()).hexdigest() == digest, name
    assert render.HTMX == "vendor/htmx-2.0.11.min.js"  # htmx 2.0.x, never 4
    assert render.ECHARTS.startswith("vendor/echarts-6.")


def test_static_files_are_served(site: Site) -> None:
    visitor = site.anonymous()
    for name in ("app.css", "app.js", render.HTMX, render.ECHARTS):
        r = visitor.get(render.static_url(name))
        assert r.status_code == 200, name
    assert visitor.get("/static/../node.key").status_code == 404


# --- helpers under test ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-11-29T21:30:00.000+00:00", "2026-11-30 05:30"),
        ("2026-11-30T05:30:00.000+08:00", "2026-11-30 05:30"),
        (None, "—"),
    ],
)
def test_times_are_shown_in_shanghai(value: str | None, shown: str) -> None:
    assert render.shanghai_time(value) == shown


def test_object_and_event_paths() -> None:
    paths: list[tuple[Callable[[str], str | None], str, str | None]] = [
        (render.object_path, "task/371300/7", "/tasks/371300/7"),
        (render.object_path, "agreement/370400/2", "/agreements/370400/2"),
        (render.object_path, "report/370400/2", None),
        (render.event_path, "371300:12", "/chain/events/371300/12"),
    ]
    for fn, value, expected in paths:
        assert fn(value) == expected


def test_a_nav_entry_can_be_added_for_another_area() -> None:
    before = list(render.NAV)
    try:
        render.add_nav(render.NavItem("sharing", "/sharing", "数据共享"), before="chain")
        render.add_nav(render.NavItem("sharing", "/sharing", "数据共享"), before="chain")
        keys = [n.key for n in render.NAV]
        assert keys.index("sharing") == keys.index("chain") - 1 and keys.count("sharing") == 1
    finally:
        render.NAV[:] = before


def test_the_task_fields_factory_is_what_the_form_posts() -> None:
    # The form's field names are TaskFields' (the same checks as the API and spreadsheet).
    assert set(ledger.TASK_FIELDS) <= set(task_fields().model_dump()) | {"milestones"}
