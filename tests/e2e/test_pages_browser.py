"""The pages in a real browser, against `lunan demo`: four nodes with the sample data, started
once for the module, as a new user would start them.

Screenshots of each main page go to test-artifacts/ (pages-*.png).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from factories import LAPTOP, PHONE, Demo, no_horizontal_scroll
from factories import demo_sign_in as sign_in
from playwright.sync_api import BrowserContext, expect

from lunan.auth.roles import ROLE_LABELS, Role
from lunan.coop.queries import today_in_shanghai

pytestmark = pytest.mark.slow

LINYI, ZAOZHUANG = "371300", "370400"


def test_each_role_signs_in_and_sees_only_what_it_may_do(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    page = context.new_page()
    for role in Role:
        context.clear_cookies()
        sign_in(page, demo.chair, LINYI, role)
        expect(page.locator(".site-tools .me")).to_contain_text(ROLE_LABELS[role][0])
        if role == Role.GATE:
            # 检票员: the ticket check is its one page; the ledger is not for it.
            expect(page.locator("#form-gate")).to_be_visible()
            expect(page.locator(".site-nav a")).to_have_text(["旅游核验", "联盟账本"])
            response = page.goto(f"{demo.chair}/tasks")
            assert response is not None and response.status == 403
            continue
        page.goto(f"{demo.chair}/tasks")
        expect(page.locator("#task-table tbody tr").first).to_be_visible()
        may_register = role in (Role.ADMIN, Role.COORDINATOR)
        expect(page.get_by_role("link", name="立项交办")).to_have_count(1 if may_register else 0)
        if not may_register:
            response = page.goto(f"{demo.chair}/tasks/new")
            assert response is not None and response.status == 403
            expect(page.locator("h1")).to_contain_text("无权操作")
    # Each main page, as the chair's coordinator sees it, at 1366×768 and at phone width.
    context.clear_cookies()
    sign_in(page, demo.chair, LINYI, Role.COORDINATOR)
    for name, path in [
        ("overview", "/"),
        ("tasks", "/tasks"),
        ("task", "/tasks/371300/1"),
        ("meetings", "/meetings"),
        ("agreements", "/agreements"),
        ("chain", "/chain"),
        ("node", "/node"),
        ("account", "/account"),
    ]:
        page.goto(f"{demo.chair}{path}")
        if name == "overview":
            expect(page.locator("#chart-areas svg")).to_have_count(1)  # ECharts drew it
        no_horizontal_scroll(page)
        page.screenshot(path=artifacts / f"pages-{name}.png", full_page=True)
    page.set_viewport_size(PHONE)
    for name, path in [("overview", "/"), ("tasks", "/tasks"), ("task", "/tasks/371300/1")]:
        page.goto(f"{demo.chair}{path}")
        no_horizontal_scroll(page)
        page.screenshot(path=artifacts / f"pages-{name}-phone.png", full_page=True)


def test_the_chair_registers_a_task_reports_progress_reminds_and_checks_the_proof(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    page = context.new_page()
    sign_in(page, demo.chair, LINYI, Role.COORDINATOR)
    today = today_in_shanghai()
    number = f"E2E-{int(time.time())}"
    page.goto(f"{demo.chair}/tasks/new")
    page.click("#task-form button[type=submit]")  # empty: the errors, in Chinese, in place
    expect(page.locator("#task-number-error")).to_have_text("必填")
    page.fill("#task-number", number)
    # A long Chinese name must wrap, never widen the page.
    page.fill("#task-title", "浏览器测试任务（示例数据）" + "推进鲁南经济圈一体化高质量发展" * 4)
    page.select_option("#task-area", "交通互联")
    page.select_option("#task-lead_city", LINYI)
    page.fill("#task-lead_department", "临沂市发展和改革委员会")
    page.check(f"input[name=partner_cities][value='{ZAOZHUANG}']")
    page.fill("#task-start", (today - timedelta(days=90)).isoformat())
    page.fill("#task-deadline", (today + timedelta(days=30)).isoformat())
    page.click("#task-form button[type=submit]")
    expect(page.locator(".flash")).to_have_text("任务已立项交办")
    # 90 of 120 days gone, nothing reported: far behind, so red.
    expect(page.locator("#task-colour")).to_have_text("红")
    page.screenshot(path=artifacts / "pages-task-new-red.png", full_page=True)

    page.fill("#report-progress", "75")
    page.fill("#report-done", "（示例数据）完成方案编制")
    page.click("#form-report button[type=submit]")
    expect(page.locator(".flash")).to_have_text("进展已报送")
    expect(page.locator("#task-colour")).to_have_text("绿")
    expect(page.locator(".reports")).to_contain_text("完成方案编制")

    page.check("#form-notice input[name=kind][value='催办']")
    page.fill("#notice-message", "请按期报送下月进展（示例数据）")
    page.click("#form-notice button[type=submit]")
    expect(page.locator(".flash")).to_have_text("通知已发出")
    expect(page.locator("#notices")).to_contain_text("请按期报送下月进展（示例数据）")
    page.screenshot(path=artifacts / "pages-task-after-report.png", full_page=True)
    page.set_viewport_size(PHONE)
    no_horizontal_scroll(page)
    page.set_viewport_size(LAPTOP)

    page.click("a.event-link >> nth=0")  # the event that registered the task
    expect(page.locator("#proof-result")).to_contain_text("已验证")
    expect(page.locator("pre.code").last).to_contain_text("coop.task.created")
    page.screenshot(path=artifacts / "pages-event-proof.png", full_page=True)


def test_the_language_switch_is_remembered_and_the_keyboard_gets_everywhere(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    page = context.new_page()
    sign_in(page, demo.chair, LINYI, Role.OFFICER)
    page.goto(f"{demo.chair}/tasks")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Task ledger")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{demo.chair}/")
    expect(page.locator("h1")).to_have_text("Overview")
    page.screenshot(path=artifacts / "pages-overview-en.png", full_page=True)
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("总览")
    # The first Tab lands on the skip link, which leads to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Filters work from the keyboard and update the table in place (htmx).
    page.goto(f"{demo.chair}/tasks")
    page.focus("#f-colour")
    page.select_option("#f-colour", "红")
    page.wait_for_url(re.compile(r"colour=%E7%BA%A2"))  # htmx pushed the filtered URL
    colours = page.locator("#task-table tbody .badge[class*=colour-]").all_inner_texts()
    assert colours and set(colours) == {"红"}
