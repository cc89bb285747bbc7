"""The gate-only role (检票员, `gate`): it signs in and runs its city's tourism check — by API
and on its one page — and reads or does nothing else; whoever could check before still can.
Created with `lunan user add --role gate`, and one per city in the demo."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from factories import ApiNode, api_node, residents_csv
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from lunan.apps.tourism import gate, registry
from lunan.auth import users
from lunan.auth.cli import user_app
from lunan.auth.roles import Role
from lunan.sample import sharing as sample_sharing
from lunan.sample.accounts import PASSWORD, account, create_accounts
from lunan.web.app import create_app

LINYI, JINING = "371300", "370800"
GUIMENG = "371300-A07"  # 蒙山龟蒙景区, 临沂: full 120, local 60 (示例数据 prices)
KONGMIAO = "370800-A01"  # 孔庙, 济宁
NOT_A_RESIDENT = "110101199003074514"  # 北京市东城区: valid, and no member's resident
BASE = "/api/v1/apps/tourism"
USERS = {
    "gate": ("gate", LINYI),
    "officer": ("officer", LINYI),
    "coord": ("coordinator", LINYI),
    "viewer": ("viewer", LINYI),
}


@pytest.fixture
def api(node_dir: Path) -> Iterator[ApiNode]:
    """临沂's node on its own, with a user of each kind."""
    with api_node(node_dir, create_app(node_dir), USERS) as node:
        yield node


def publish_and_import(api: ApiNode) -> list[str]:
    """临沂 publishes its resident check and imports its residents; their ID numbers."""
    entry = sample_sharing.resident_check(LINYI)
    r = api.client.post("/api/v1/sharing/catalog", json=entry, headers=api.auth("coord"))
    assert r.status_code == 201, r.text
    data, numbers = residents_csv(LINYI)
    files = {"file": ("residents.csv", data, "text/csv")}
    r = api.client.post(
        "/api/v1/data/import",
        params={"entry": entry["code"]},
        files=files,
        headers=api.auth("officer"),
    )
    assert r.status_code == 200, r.text
    return numbers


# --- the API ----------------------------------------------------------------------------------


def test_a_gate_user_checks_visitors_and_reads_the_attractions(api: ApiNode) -> None:
    numbers = publish_and_import(api)
    body = {"attraction": GUIMENG, "id_number": numbers[0]}
    r = api.client.post(f"{BASE}/check", json=body, headers=api.auth("gate"))
    assert r.status_code == 200, r.text
    assert (r.json()["price"], r.json()["local"], r.json()["resident_city"]) == (60, True, LINYI)
    listed = api.client.get(f"{BASE}/attractions", params={"city": LINYI}, headers=api.auth("gate"))
    assert listed.status_code == 200
    assert [a["code"] for a in listed.json()] == [a.code for a in registry.attractions_in(LINYI)]
    assert api.client.get(f"{BASE}/routes", headers=api.auth("gate")).status_code == 200


def test_a_gate_user_holds_only_the_check(api: ApiNode) -> None:
    me = api.client.get("/api/v1/me", headers=api.auth("gate")).json()["user"]
    assert (me["role"], me["role_label"], me["permissions"]) == (
        "gate",
        ["检票员", "Ticket gate"],
        ["tourism.check"],
    )
    for method, path in [
        ("GET", "/api/v1/tasks"),
        ("GET", "/api/v1/sharing/catalog"),
        ("GET", "/api/v1/exchange/audit"),
        ("POST", "/api/v1/data/import"),
        ("GET", "/api/v1/users"),
    ]:
        r = api.client.request(method, path, headers=api.auth("gate"))
        assert r.status_code == 403, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("who", ["viewer"])
def test_the_check_needs_the_tourism_check_permission(api: ApiNode, who: str) -> None:
    body = {"attraction": GUIMENG, "id_number": NOT_A_RESIDENT}
    r = api.client.post(f"{BASE}/check", json=body, headers=api.auth(who))
    assert r.status_code == 403
    assert r.json()["permission"] == "tourism.check"


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def members(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every member answers 否 without a network; records whom the gate asked."""
    asked: list[tuple[str, str]] = []

    def asker(parts: Any, actor_id: str, timeout: float) -> gate.Ask:
        def ask(city: str, number: str) -> gate.Answer:
            asked.append((city, number))
            return "否"

        return ask

    monkeypatch.setattr(gate, "node_asker", asker)
    return asked


def signed_in(api: ApiNode, name: str) -> tuple[TestClient, str]:
    """A browser signed in as `name` through the sign-in page (next: /), and its CSRF token."""
    browser = TestClient(api.app)
    page = browser.get("/login").text
    token = re.search(r'name="login_token" value="([^"]+)"', page)
    assert token is not None
    form = {"name": name, "password": "correct horse battery", "login_token": token.group(1)}
    r = browser.post("/login", data={**form, "next": "/"}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/account").text)
    assert csrf is not None
    return browser, csrf.group(1)


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.S)
    assert nav is not None
    return re.findall(r'href="([^"]+)"', nav.group(0))


def test_a_gate_user_signs_in_to_the_ticket_check_and_sees_nothing_else(
    api: ApiNode, members: list[tuple[str, str]]
) -> None:
    browser, csrf = signed_in(api, "gate")
    home = browser.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/sharing/tourism")
    page = browser.get("/sharing/tourism").text
    assert 'id="form-gate"' in page
    assert nav_links(page) == ["/sharing/tourism", "/chain"]
    assert 'class="subnav"' not in page  # no tabs of pages it may not open
    options = re.findall(r'<option value="(\d{6}-A\d+)"', page)
    assert options == [a.code for a in registry.attractions_in(LINYI)]
    for path in ("/tasks", "/sharing", "/sharing/catalog", "/node"):
        assert browser.get(path).status_code == 403, path
    checked = browser.post(
        "/sharing/tourism",
        data={"csrf_token": csrf, "attraction": GUIMENG, "id_number": NOT_A_RESIDENT},
    )
    assert checked.status_code == 200
    assert re.search(r'<span class="gate-amount">120<', checked.text)
    assert members == [(LINYI, NOT_A_RESIDENT)]
    browser.close()


def test_on_the_page_another_citys_attraction_is_refused_next_to_the_field(
    api: ApiNode, members: list[tuple[str, str]]
) -> None:
    browser, csrf = signed_in(api, "gate")
    r = browser.post(
        "/sharing/tourism",
        data={"csrf_token": csrf, "attraction": KONGMIAO, "id_number": NOT_A_RESIDENT},
    )
    assert r.status_code == 422
    error = re.search(r'id="gate-attraction-error">([^<]*)<', r.text)
    assert error is not None and "济宁市" in error.group(1) and "节点" in error.group(1)
    assert 'id="gate-result"' not in r.text and members == []
    browser.close()


def test_an_officer_keeps_the_whole_sharing_area_and_checks_at_its_own_attractions(
    api: ApiNode, members: list[tuple[str, str]]
) -> None:
    browser, _ = signed_in(api, "officer")
    assert browser.get("/", follow_redirects=False).status_code == 200
    page = browser.get("/sharing/tourism").text
    links = nav_links(page)
    assert "/sharing" in links and "/sharing/tourism" not in links and "/tasks" in links
    assert 'class="subnav"' in page and 'id="form-gate"' in page
    assert f'<option value="{KONGMIAO}"' not in page  # the select: this city's attractions
    viewer, _ = signed_in(api, "viewer")
    assert "/sharing" in nav_links(viewer.get("/sharing/tourism").text)
    browser.close()
    viewer.close()


# --- where roles are listed -------------------------------------------------------------------


def test_lunan_user_add_makes_a_gate_user(node_dir: Path, engine: Engine) -> None:
    lunan = typer.Typer()
    lunan.add_typer(user_app, name="user")
    runner = CliRunner(env={"COLUMNS": "120"})
    assert "gate (检票员 Ticket gate)" in runner.invoke(lunan, ["user", "add", "--help"]).output
    args = ["user", "add", "--dir", str(node_dir), "--name", "mengshan.gate1", "--role", "gate"]
    result = runner.invoke(lunan, args)
    assert result.exit_code == 0, result.output
    assert "(检票员 Ticket gate) of 371300" in result.output
    made = users.get_user(engine, "mengshan.gate1")
    assert made is not None and made.role == Role.GATE


def test_the_demo_has_a_gate_account_in_each_city(engine: Engine) -> None:
    create_accounts(engine, LINYI, "临沂")
    gate_user = users.authenticate(engine, "linyi-gate", PASSWORD)
    assert gate_user is not None
    assert (gate_user.role, gate_user.display_name) == (Role.GATE, "临沂检票员")
    assert account(JINING, Role.GATE) == "jining-gate"
    assert {u.name for u in users.list_users(engine)} == {account(LINYI, r) for r in Role}
