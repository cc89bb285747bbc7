"""数据共享 in a real browser, against `lunan demo` (one for the module, tests/factories.py):
a city files a sharing request and the provider city's officer approves it on its own node;
the ticket office checks a resident of another member city and a visitor from outside; the
exchange record links both sides' events, whose proofs verify.

Screenshots of the sharing pages go to test-artifacts/ (sharing-*.png).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from factories import LAPTOP, PHONE, Demo, demo_sign_in, no_horizontal_scroll
from playwright.sync_api import Browser, BrowserContext, Page, expect

from lunan.auth.roles import Role
from lunan.sample.accounts import PASSWORD
from lunan.sample.tourism import visitors
from lunan.sharing.queries import today_shanghai
from lunan.sharing.workdays import DEADLINE_WORKING_DAYS, add_working_days

pytestmark = pytest.mark.slow

LINYI, ZAOZHUANG, JINING = "371300", "370400", "370800"
ATTRACTION = "371300-A07"  # 蒙山龟蒙景区: 120 元, 60 元 for residents of the four cities
NOT_A_RESIDENT = "110101199003074514"  # valid, 北京市东城区: no member's resident
REPLICATION = 30.0  # seconds another node's events may take to arrive


def until(page: Page, url: str, found: Callable[[], bool], what: str) -> None:
    """Reload `url` until `found()` (another node's events arrive by replication)."""
    deadline = time.monotonic() + REPLICATION
    while True:
        page.goto(url)
        if found():
            return
        assert time.monotonic() < deadline, f"{what} did not arrive within {REPLICATION} s"
        page.wait_for_timeout(500)


def test_a_provider_city_approves_a_request_filed_by_another_city(
    demo: Demo, browser: Browser, context: BrowserContext, artifacts: Path
) -> None:
    purpose = f"招商引资企业核实 E2E-{int(time.time())}（示例数据）"
    # 枣庄's officer finds 临沂's 企业登记信息 in the alliance catalog and asks for two fields.
    page = context.new_page()
    zaozhuang = demo.urls[ZAOZHUANG]
    demo_sign_in(page, zaozhuang, ZAOZHUANG, Role.OFFICER)
    page.goto(f"{zaozhuang}/sharing/catalog")
    page.fill("#c-q", "企业登记")
    # Leave the search box as a user does: its change event asks now. Left focused, it would
    # fire when the link below is pressed, and a link clicked while htmx swaps the table is
    # detached and goes nowhere (select_option does not move the focus).
    page.press("#c-q", "Tab")
    page.select_option("#c-city", LINYI)
    page.wait_for_url(re.compile(r"city=371300"))  # htmx filtered the table in place
    expect(page.locator("#catalog-table tbody tr")).to_have_count(1)
    # The form's newest request replaces an older one (hx-sync): wait until no htmx request or
    # swap is under way. (The page's load state cannot tell: it reached "networkidle" before
    # htmx asked anything.)
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.screenshot(path=artifacts / "sharing-catalog-search.png", full_page=True)
    page.get_by_role("link", name="企业登记信息").click()
    expect(page).to_have_title(re.compile(r"^企业登记信息 · 临沂 · 共享目录 · 数字鲁南"))
    expect(page.locator("#form-request input[name=fields]")).to_have_count(3)  # 不予共享: not
    page.click("#form-request button[type=submit]")  # empty: errors next to the fields
    expect(page.locator("#request-fields-error")).to_have_text("请至少选择一个信息项")
    expect(page.locator("#request-purpose-error")).to_have_text("必填")
    page.check("#form-request input[name=fields][value='统一社会信用代码']")
    page.check("#form-request input[name=fields][value='企业名称']")
    page.fill("#request-purpose", purpose)
    page.fill("#request-scenario", "跨市通办企业信息核验（示例数据）")
    page.fill("#request-legal_basis", "《政务信息资源共享管理暂行办法》（示例数据）")
    page.fill("#request-volume", "300")
    page.fill("#request-quota", "1000")
    page.screenshot(path=artifacts / "sharing-entry-request.png", full_page=True)
    page.click("#form-request button[type=submit]")
    expect(page.locator(".flash")).to_have_text("共享申请已提交")
    found = re.search(r"/sharing/requests/(370400/\d+)", page.url)
    assert found, page.url
    number = found.group(1)
    expect(page.locator("h1")).to_contain_text("企业登记信息")
    expect(page.locator(".due-left").first).to_contain_text("个工作日")

    # 临沂's officer, on 临沂's own node, sees it among the requests to 临沂 and approves it,
    # narrowed: one field of the two, a lower daily quota.
    linyi_context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    linyi_context.set_default_timeout(15_000)
    try:
        provider = linyi_context.new_page()
        demo_sign_in(provider, demo.chair, LINYI, Role.OFFICER)
        row = provider.locator("tr", has=provider.get_by_role("link", name=number, exact=True))
        until(provider, f"{demo.chair}/sharing/incoming", lambda: row.count() == 1, number)
        expect(row).to_contain_text("待审批")
        expect(row).to_contain_text("枣庄")
        provider.screenshot(path=artifacts / "sharing-incoming.png", full_page=True)
        row.get_by_role("link", name="审批").click()
        expect(provider.locator("#form-approve")).to_be_visible()
        expect(provider.locator("#form-refuse")).to_be_visible()
        provider.uncheck("#form-approve input[name=fields][value='企业名称']")
        provider.fill("#approve-reason", "同意，仅限统一社会信用代码（示例数据）")
        provider.fill("#approve-quota", "5000")  # wider than asked: refused, next to the field
        provider.click("#form-approve button[type=submit]")
        expect(provider.locator("#approve-quota-error")).to_contain_text("不能超过申请的1000")
        provider.fill("#approve-quota", "200")
        provider.screenshot(path=artifacts / "sharing-request-approve.png", full_page=True)
        provider.click("#form-approve button[type=submit]")
        expect(provider.locator(".flash")).to_have_text("已批准，共享协议已生成")
        expect(provider.locator("#agreement-status")).to_have_text("有效")
        expect(provider.locator("#agreement-quota")).to_have_text("200")
        expect(provider.locator("#agreement-fields")).to_have_text("统一社会信用代码")
        expect(provider.locator("#form-suspend")).to_be_visible()  # the provider's to manage
        provider.screenshot(path=artifacts / "sharing-agreement.png", full_page=True)
    finally:
        linyi_context.close()

    # Back on 枣庄's node, the request is approved once 临沂's decision has replicated.
    mine = page.locator("tr", has=page.get_by_role("link", name=number, exact=True))
    until(
        page,
        f"{zaozhuang}/sharing/outgoing",
        lambda: "已批准" in (mine.inner_text() if mine.count() else ""),
        "临沂's decision",
    )
    page.screenshot(path=artifacts / "sharing-outgoing.png", full_page=True)


def test_the_ticket_office_charges_a_member_citys_resident_the_local_price(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    page = context.new_page()
    demo_sign_in(page, demo.chair, LINYI, Role.OFFICER)
    page.goto(f"{demo.chair}/sharing/tourism")
    expect(page).to_have_title(re.compile(r"^旅游核验 · 数据共享 · 数字鲁南"))
    page.select_option("#gate-attraction", ATTRACTION)
    # A resident of 济宁 at a 临沂 attraction, from the keyboard: type, Enter.
    page.focus("#gate-id_number")
    page.keyboard.type(visitors()[JINING][0])
    page.keyboard.press("Enter")
    expect(page.locator("#gate-verdict")).to_have_text("本地居民价")
    expect(page.locator("#gate-price .gate-amount")).to_have_text("60")
    expect(page.locator("#gate-why")).to_contain_text("经济宁核验为该市居民")
    expect(page.locator("#gate-id_number")).to_have_value("")  # ready for the next visitor
    expect(page.locator("#gate-attraction")).to_have_value(ATTRACTION)
    page.screenshot(path=artifacts / "sharing-tourism-resident.png", full_page=True)

    # A visitor from outside the four cities: every member asked, the full price.
    page.fill("#gate-id_number", NOT_A_RESIDENT)
    page.click("#form-gate button[type=submit]")
    expect(page.locator("#gate-verdict")).to_have_text("全价")
    expect(page.locator("#gate-price .gate-amount")).to_have_text("120")
    expect(page.locator(".asked li")).to_have_count(4)
    expect(page.locator(".asked")).not_to_contain_text("未能核验")
    page.screenshot(path=artifacts / "sharing-tourism-visitor.png", full_page=True)

    # A mistyped number: the error next to the field, nobody asked.
    page.fill("#gate-id_number", NOT_A_RESIDENT[:17] + "0")
    page.click("#form-gate button[type=submit]")
    expect(page.locator("#gate-id_number-error")).to_contain_text("身份证号无效")
    expect(page.locator("#gate-result")).to_have_count(0)
    page.set_viewport_size(PHONE)
    no_horizontal_scroll(page)
    page.screenshot(path=artifacts / "sharing-tourism-phone.png", full_page=True)


def test_the_exchange_record_links_both_sides_events_and_their_proofs(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    # A check at 临沂's gate for a 济宁 resident: 济宁 logs what it served, 临沂 what it
    # received, and both records reach 临沂's node.
    with httpx.Client(base_url=demo.chair, timeout=30) as api:
        signed = api.post("/api/v1/session", json={"name": "linyi-officer", "password": PASSWORD})
        headers = {"X-CSRF-Token": signed.json()["csrf_token"]}
        body = {"attraction": ATTRACTION, "id_number": visitors()[JINING][1], "city": JINING}
        checked = api.post("/api/v1/apps/tourism/check", json=body, headers=headers)
        assert checked.status_code == 200 and checked.json()["local"], checked.text
    page = context.new_page()
    demo_sign_in(page, demo.chair, LINYI, Role.AUDITOR)
    both = page.locator(".exchanges-table tbody tr", has=page.locator("text=济宁 #")).filter(
        has=page.locator("text=临沂 #")
    )
    until(page, f"{demo.chair}/sharing/exchanges", lambda: both.count() > 0, "济宁's record")
    assert int(page.locator("#total-served").inner_text()) >= 1
    page.screenshot(path=artifacts / "sharing-exchanges-both-sides.png", full_page=True)
    both.first.get_by_role("link", name=re.compile(r"^\d{4}-")).click()  # the exchange
    expect(page.locator("#digests-agree")).to_contain_text("两侧摘要一致")
    page.screenshot(path=artifacts / "sharing-exchange.png", full_page=True)
    links = page.locator(".record-card a.event-link")
    expect(links).to_have_count(2)
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(2)]
    assert {h.split("/")[3] for h in hrefs} == {JINING, LINYI}, hrefs
    proof = page.locator("#proof-result")
    for href in hrefs:
        # An event's proof needs a signed checkpoint that covers it: wait for the next one.
        until(page, f"{demo.chair}{href}", lambda: proof.count() > 0, f"a checkpoint of {href}")
        expect(proof).to_contain_text("已验证")
        expect(page.locator("pre.code").last).to_contain_text('"type": "exchange.')
    page.screenshot(path=artifacts / "sharing-exchange-event.png", full_page=True)


def test_the_sharing_pages_at_laptop_and_phone_width_from_this_node_only(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    demo_sign_in(page, demo.chair, LINYI, Role.COORDINATOR)
    page.goto(f"{demo.chair}/sharing/agreements?side=provider")
    page.locator(".agreements-table tbody a").first.click()
    agreement = page.url.removeprefix(demo.chair)
    pages = [
        ("home", "/sharing"),
        ("catalog", "/sharing/catalog"),
        ("entry", "/sharing/catalog/370400/1"),
        ("incoming", "/sharing/incoming"),
        ("outgoing", "/sharing/outgoing"),
        ("agreements", "/sharing/agreements"),
        ("agreement-page", agreement),
        ("exchange-record", "/sharing/exchanges"),
        ("tourism", "/sharing/tourism"),
        ("overview", "/"),
    ]
    for name, path in pages:
        page.goto(f"{demo.chair}{path}")
        expect(page.locator("h1")).to_be_visible()
        no_horizontal_scroll(page)
        page.screenshot(path=artifacts / f"sharing-{name}.png", full_page=True)
    # The sample's paper application to 菏泽, received 20 days ago: overdue unless holidays
    # fill those days.
    today = today_shanghai()
    received = today - timedelta(days=20)
    page.goto(f"{demo.chair}/sharing/outgoing")
    if add_working_days(received, DEADLINE_WORKING_DAYS) < today:
        expect(page.locator("tr.row-overdue").first).to_contain_text("已逾期")
    page.screenshot(path=artifacts / "sharing-outgoing-deadlines.png", full_page=True)
    page.set_viewport_size(PHONE)
    for name, path in pages[:5] + pages[7:9]:
        page.goto(f"{demo.chair}{path}")
        no_horizontal_scroll(page)
        page.screenshot(path=artifacts / f"sharing-{name}-phone.png", full_page=True)
    outside = [u for u in fetched if not u.startswith((demo.chair + "/", "data:"))]
    assert not outside, outside
