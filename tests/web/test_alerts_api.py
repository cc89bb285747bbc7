"""`/api/v1/alerts` and the 节点 page's alerts: any signed-in user reads them with their
evidence; only the node's administrator resolves one, with a note; every refusal is a problem
document (or a page) and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import ApiNode, api_node, make_node
from fastapi.testclient import TestClient

from lunan.federation import alerts
from lunan.federation.follower import FORK, raise_alert
from lunan.web.app import create_app
from lunan.web.problems import PROBLEM_JSON, TYPE_PREFIX

ACCOUNTS = {
    "admin": ("admin", "371300"),
    "coord": ("coordinator", "371300"),
    "viewer": ("viewer", "371300"),
}
EVIDENCE = ["lunan/370400\n3\nAQ==\n\n— sig one\n", "lunan/370400\n3\nAg==\n\n— sig two\n"]


@pytest.fixture
def site(tmp_path: Path, database_url: str, cheap_hasher: None) -> Iterator[ApiNode]:
    directory = make_node(tmp_path / "node", database_url)
    with api_node(directory, create_app(directory), ACCOUNTS) as n:
        engine = n.app.state.log.engine
        raise_alert(engine, "lunan/370400", FORK, "checkpoint 3 differs", EVIDENCE)
        raise_alert(engine, "-", "refused-request", "/witness/v1/add-checkpoint: replayed", [])
        yield n


def ids(site: ApiNode, user: str = "viewer", **params: Any) -> list[int]:
    r = site.client.get("/api/v1/alerts", params=params, headers=site.auth(user))
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["alerts"]]


def problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = r.json()
    assert body["type"] == TYPE_PREFIX + slug
    return body


def resolve(site: ApiNode, alert_id: int | str, body: Any, user: str = "admin") -> Any:
    return site.client.post(
        f"/api/v1/alerts/{alert_id}/resolve", json=body, headers=site.auth(user)
    )


def test_any_signed_in_user_reads_the_open_alerts_with_their_evidence(site: ApiNode) -> None:
    r = site.client.get("/api/v1/alerts", headers=site.auth("viewer"))
    fork, refused = r.json()["alerts"]
    assert fork["kind"] == "fork" and fork["evidence"] == EVIDENCE
    assert fork["state"] == "open" and fork["stops_following"] is True
    assert fork["resolved_by"] is None and fork["note"] is None
    assert refused["kind"] == "refused-request" and refused["stops_following"] is False
    problem(site.client.get("/api/v1/alerts"), 401, "unauthenticated")
    problem(
        site.client.get("/api/v1/alerts?state=closed", headers=site.auth("viewer")),
        400,
        "invalid-parameters",
    )


def test_the_administrator_resolves_an_alert_and_it_moves_to_the_resolved(
    site: ApiNode,
) -> None:
    fork_id, refused_id = ids(site)
    r = resolve(site, fork_id, {"note": "  枣庄从错误的备份恢复，已通报秘书处  "})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["resolved_by"], done["resolved_via"]) == (
        "resolved",
        "admin",
        "web",
    )
    assert done["note"] == "枣庄从错误的备份恢复，已通报秘书处" and done["evidence"] == EVIDENCE
    assert done["resolved_at"].endswith("+08:00") and done["stops_following"] is False
    assert ids(site) == [refused_id]
    assert ids(site, state="resolved") == [fork_id]
    assert ids(site, state="all") == [fork_id, refused_id]
    assert ids(site, state="all", limit=1) == [refused_id]  # the newest


def test_resolving_is_refused_with_a_problem_and_changes_nothing(site: ApiNode) -> None:
    fork_id, _ = ids(site)
    engine = site.app.state.log.engine
    before = alerts.get_alert(engine, fork_id)
    denied = problem(resolve(site, fork_id, {"note": "x"}, user="coord"), 403, "forbidden")
    assert denied["permission"] == "users.manage"
    problem(resolve(site, fork_id, {"note": "x"}, user="viewer"), 403, "forbidden")
    problem(
        site.client.post(f"/api/v1/alerts/{fork_id}/resolve", json={"note": "x"}),
        401,
        "unauthenticated",
    )
    problem(resolve(site, 999, {"note": "x"}), 404, "no-such-alert")
    assert problem(resolve(site, fork_id, {"note": " "}), 422, "invalid-input")["field"] == "note"
    assert problem(resolve(site, fork_id, {}), 422, "invalid-input")["field"] == "note"
    problem(resolve(site, fork_id, {"note": "x", "by": "someone"}), 422, "invalid-input")
    problem(resolve(site, fork_id, {"note": "长" * (alerts.MAX_NOTE + 1)}), 422, "invalid-input")
    problem(resolve(site, "abc", {"note": "x"}), 400, "invalid-parameters")
    assert alerts.get_alert(engine, fork_id) == before

    assert resolve(site, fork_id, {"note": "第一次"}).status_code == 200
    again = problem(resolve(site, fork_id, {"note": "第二次"}), 409, "alert-already-resolved")
    assert "admin" in again["detail"]
    [kept] = alerts.list_alerts(engine, alerts.RESOLVED)
    assert kept.note == "第一次"


def test_a_session_needs_its_csrf_token_to_resolve(site: ApiNode) -> None:
    fork_id, _ = ids(site)
    with TestClient(site.app) as browser:
        signed_in = browser.post(
            "/api/v1/session", json={"name": "admin", "password": "correct horse battery"}
        )
        csrf = signed_in.json()["csrf_token"]
        path = f"/api/v1/alerts/{fork_id}/resolve"
        problem(browser.post(path, json={"note": "x"}), 403, "csrf")
        r = browser.post(path, json={"note": "已核实"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["resolved_by"] == "admin"


# --- the 节点 page --------------------------------------------------------------------------


def browser(site: ApiNode, user: str, lang: str = "zh-CN") -> tuple[TestClient, str]:
    client = TestClient(site.app)
    client.cookies.set("lunan_lang", lang)
    r = client.post("/api/v1/session", json={"name": user, "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf_token"]


def test_the_node_page_lists_open_alerts_and_the_administrator_resolves_one(
    site: ApiNode,
) -> None:
    fork_id, refused_id = ids(site)
    client, csrf = browser(site, "admin")
    page = client.get("/node").text
    assert "checkpoint 3 differs" in page and "sig one" in page and "已停止跟随" in page
    assert f'action="/node/alerts/{fork_id}/resolve"' in page

    r = client.post(
        f"/node/alerts/{fork_id}/resolve",
        data={"csrf_token": csrf, "note": "已与枣庄核实"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/node?ok=resolved#alerts"
    page = client.get("/node?ok=resolved").text
    assert "告警已处理。" in page and "已处理的告警" in page and "已与枣庄核实" in page
    assert f'action="/node/alerts/{fork_id}/resolve"' not in page
    assert f'action="/node/alerts/{refused_id}/resolve"' in page
    [done] = alerts.list_alerts(site.app.state.log.engine, alerts.RESOLVED)
    assert (done.resolved_by, done.resolved_via) == ("admin", "web")


def test_the_node_page_shows_what_is_wrong_with_the_note_and_changes_nothing(
    site: ApiNode,
) -> None:
    fork_id, _ = ids(site)
    client, csrf = browser(site, "admin")
    path = f"/node/alerts/{fork_id}/resolve"
    r = client.post(path, data={"csrf_token": csrf, "note": "  "}, follow_redirects=False)
    assert r.status_code == 422
    error = re.search(rf'id="alert-{fork_id}-note-error">([^<]+)<', r.text)
    assert error is not None and error.group(1) == "必填"
    r = client.post(path, data={"note": "x"}, follow_redirects=False)  # no CSRF token
    assert r.status_code == 403
    assert (
        client.post("/node/alerts/999/resolve", data={"csrf_token": csrf, "note": "x"}).status_code
        == 404
    )
    assert ids(site)[0] == fork_id  # still open

    client.post(path, data={"csrf_token": csrf, "note": "已核实"})
    again = client.post(path, data={"csrf_token": csrf, "note": "再次"}, follow_redirects=False)
    assert again.status_code == 409


def test_only_the_administrator_sees_and_may_use_the_resolve_form(site: ApiNode) -> None:
    fork_id, _ = ids(site)
    client, csrf = browser(site, "coord", lang="en")
    page = client.get("/node").text
    assert "checkpoint 3 differs" in page and "Alerts" in page
    assert "/resolve" not in page
    r = client.post(
        f"/node/alerts/{fork_id}/resolve",
        data={"csrf_token": csrf, "note": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert ids(site)[0] == fork_id


def test_the_ledger_page_keeps_a_resolved_fork_as_evidence_but_no_longer_raises_it(
    site: ApiNode,
) -> None:
    fork_id, _ = ids(site)
    client, _ = browser(site, "viewer")
    before = client.get("/chain").text
    assert 'role="alert"' in before and "checkpoint 3 differs" in before
    assert resolve(site, fork_id, {"note": "已与枣庄核实"}).status_code == 200
    after = client.get("/chain").text
    assert 'role="alert"' not in after
    assert "checkpoint 3 differs" in after and "已处理" in after
