"""The task ledger over HTTP: each city's node with a signed-in user, on the four-city logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories import CHAIR, CoopLedger
from fastapi.testclient import TestClient

Client = Callable[[str, str], TestClient]  # the client_for fixture (conftest.py)
LEAD, PARTNER, OUTSIDER = "370400", "370800", "371700"
TASKS = "/api/v1/tasks"
TASK = f"{TASKS}/{CHAIR}/1"


def task_body(**changes: Any) -> dict[str, Any]:
    body = {
        "number": "1",
        "title": "鲁南高铁沿线示例任务（示例数据）",
        "area": "交通互联",
        "lead_city": LEAD,
        "lead_department": "市交通运输局",
        "partner_cities": [PARTNER],
        "start": "2026-01-01",
        "deadline": "2026-12-31",
    }
    return {**body, **changes}


def created(response: Any, status: int = 201) -> str:
    assert response.status_code == status, response.text
    object_id: str = response.json()["id"]
    return object_id


def refused(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    if field is not None:
        assert problem["field"] == field, problem
    return problem


@pytest.fixture
def chair(client_for: Client) -> TestClient:
    return client_for(CHAIR, "coordinator")


@pytest.fixture
def task(chair: TestClient) -> str:
    return created(chair.post(TASKS, json=task_body()))


def test_the_chair_registers_and_everyone_reads(
    client_for: Client, chair: TestClient, task: str
) -> None:
    assert task == f"task/{CHAIR}/1"
    viewer = client_for(PARTNER, "viewer")
    (listed,) = viewer.get(TASKS).json()
    assert listed["id"] == task and listed["status"] == "待启动"
    detail = viewer.get(TASK, params={"today": "2026-01-20"}).json()
    assert detail["fields"]["lead_city"] == LEAD
    assert detail["effective_deadline"] == "2026-12-31"
    assert detail["history"] == [{"date": "2026-01-01", "colour": "绿", "why": "按序时进度推进"}]
    refused(viewer.get(f"{TASKS}/{CHAIR}/9"), 404)
    refused(viewer.get(TASKS, params={"sort": "title"}), 400)


def test_writes_by_the_wrong_city_or_role_are_403_and_store_nothing(
    client_for: Client, ledger: CoopLedger
) -> None:
    before = ledger.sizes()
    for city, role in [
        (CHAIR, "viewer"),
        (CHAIR, "officer"),
        (CHAIR, "auditor"),
        (CHAIR, f"coordinator@{LEAD}"),  # a user of another city on the chair's node
        (LEAD, "coordinator"),  # not the chair city
    ]:
        client = client_for(city, role)
        refused(client.post(TASKS, json=task_body()), 403)
    assert ledger.sizes() == before
    refused(TestClient(client.app).get(TASKS), 401)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lead_city": "110000"}, "lead_city"),  # not a member
        ({"lead_city": "37130"}, "lead_city"),  # not a city code
        ({"partner_cities": ["999999"]}, "partner_cities.0"),
        ({"deadline": "2025-12-31"}, "deadline"),  # before the start
        ({"area": "航天"}, "area"),
        ({"weight": 0}, "weight"),
    ],
)
def test_invalid_tasks_are_422_naming_the_field(
    chair: TestClient, ledger: CoopLedger, changes: dict[str, Any], field: str
) -> None:
    before = ledger.sizes()
    problem = refused(chair.post(TASKS, json=task_body(**changes)), 422, field)
    assert problem["type"] == "urn:lunan:problem:invalid-input"
    assert ledger.sizes() == before


def test_updating_a_task(chair: TestClient, task: str) -> None:
    assert chair.put(TASK, json=task_body()).json() == {"id": task, "changed": False}
    answer = chair.put(TASK, json=task_body(title="新名称（示例数据）")).json()
    assert answer == {"id": task, "changed": True}
    assert chair.get(TASK).json()["fields"]["title"] == "新名称（示例数据）"
    refused(chair.put(TASK, json=task_body(lead_city=PARTNER, partner_cities=[])), 422, "lead_city")
    refused(chair.post(TASKS, json=task_body(title="重复（示例数据）")), 409, "number")


def test_lead_and_partner_report_an_outsider_may_not(client_for: Client, task: str) -> None:
    report = {"period": "2026-02", "progress": 40, "done": "完成选址（示例数据）"}
    lead = client_for(LEAD, "officer")
    created(lead.post(f"{TASK}/reports", json=report))
    created(client_for(PARTNER, "officer").post(f"{TASK}/reports", json={**report, "progress": 70}))
    refused(client_for(OUTSIDER, "officer").post(f"{TASK}/reports", json=report), 403)
    refused(lead.post(f"{TASK}/reports", json={**report, "progress": 101}), 422, "progress")
    refused(lead.post(f"{TASKS}/{CHAIR}/9/reports", json=report), 404)
    detail = lead.get(TASK).json()
    assert detail["progress"] == 40.0 and detail["status"] == "推进中"
    assert [r["progress"] for r in detail["partner_reports"]] == [70]


def test_notices_and_their_acknowledgement(
    client_for: Client, chair: TestClient, task: str
) -> None:
    notice = {"kind": "督办", "message": "请说明进度滞后原因（示例数据）", "due": "2026-03-15"}
    lead = client_for(LEAD, "officer")
    refused(lead.post(f"{TASK}/notices", json=notice), 403)
    notice_id = created(chair.post(f"{TASK}/notices", json=notice))
    refused(chair.post(f"{TASK}/notices", json={**notice, "kind": "通知"}), 422, "kind")
    path = f"/api/v1/{notice_id.replace('notice/', 'notices/')}/acknowledge"
    refused(client_for(PARTNER, "officer").post(path), 403)
    assert created(lead.post(path)) == f"ack/{LEAD}/1"
    refused(lead.post(path), 409)
    (shown,) = lead.get(TASK).json()["notices"]
    assert shown["to_city"] == LEAD and shown["acknowledged"]["id"] == f"ack/{LEAD}/1"


def test_extension_and_completion_decided_by_the_chair(
    client_for: Client, chair: TestClient, task: str
) -> None:
    lead = client_for(LEAD, "coordinator")
    refused(
        lead.post(f"{TASK}/extensions", json={"new_deadline": "2026-06-30", "reason": "r"}),
        422,
        "new_deadline",
    )
    ext = created(
        lead.post(f"{TASK}/extensions", json={"new_deadline": "2027-06-30", "reason": "示例数据"})
    )
    refused(lead.post("/api/v1/decisions", json={"request": ext, "approve": True}), 403)
    created(chair.post("/api/v1/decisions", json={"request": ext, "approve": True}))
    refused(chair.post("/api/v1/decisions", json={"request": ext, "approve": False}), 409)
    refused(
        chair.post("/api/v1/decisions", json={"request": "task/371300/1", "approve": True}), 422
    )
    detail = chair.get(TASK).json()
    assert (detail["effective_deadline"], detail["status"]) == ("2027-06-30", "已延期")
    done = created(lead.post(f"{TASK}/completions", json={"summary": "已完成（示例数据）"}))
    created(
        chair.post("/api/v1/decisions", json={"request": done, "approve": True, "reason": "好"})
    )
    detail = chair.get(TASK).json()
    assert (detail["status"], detail["colour"]) == ("已办结", "绿")
    assert detail["completions"][0]["decision"]["reason"] == "好"
    assert [e["state"] for e in detail["extensions"]] == ["已批准"]


def test_rules_and_areas(client_for: Client, chair: TestClient) -> None:
    rules = chair.get(f"{TASKS}/rules").json()
    assert (
        rules["in_force"]
        == rules["defaults"]
        == {
            "yellow_behind": 10,
            "yellow_days": 15,
            "red_behind": 30,
        }
    )
    new = {"effective_from": "2026-01-01", "yellow_behind": 5, "yellow_days": 10, "red_behind": 20}
    refused(client_for(LEAD, "coordinator").put(f"{TASKS}/rules", json=new), 403)
    refused(chair.put(f"{TASKS}/rules", json={**new, "red_behind": 4}), 422, "red_behind")
    assert created(chair.put(f"{TASKS}/rules", json=new), 200) == f"rules/{CHAIR}/1"
    rules = chair.get(f"{TASKS}/rules").json()
    assert rules["in_force"]["red_behind"] == 20
    assert [v["id"] for v in rules["versions"]] == [f"rules/{CHAIR}/1"]
    assert "交通互联" in chair.get(f"{TASKS}/areas").json()["areas"]
    created(chair.put(f"{TASKS}/areas", json={"areas": ["航空物流"]}), 200)
    assert chair.get(f"{TASKS}/areas").json() == {"areas": ["航空物流"]}
    refused(chair.put(f"{TASKS}/areas", json={"areas": ["a", "a"]}), 422, "areas")


def test_roll_ups(chair: TestClient, task: str) -> None:
    everything = chair.get(f"{TASKS}/rollup").json()
    assert everything["alliance"]["tasks"] == 1
    by_area = chair.get(f"{TASKS}/rollup", params={"by": "area"}).json()
    assert by_area["alliance"] is None and by_area["cities"] is None
    assert {a["key"]: a["tasks"] for a in by_area["areas"]}["交通互联"] == 1
    cities = chair.get(f"{TASKS}/rollup", params={"by": "city"}).json()["cities"]
    lead = next(c for c in cities if c["city"] == LEAD)
    assert lead["name"] == "枣庄" and lead["as_lead"]["tasks"] == 1
    refused(chair.get(f"{TASKS}/rollup", params={"by": "county"}), 400)


def test_the_openapi_schema_names_the_ledger(chair: TestClient) -> None:
    schema = chair.app.openapi()  # type: ignore[attr-defined]
    assert "/api/v1/tasks/{city}/{n}/reports" in schema["paths"]
    assert "TaskView" in schema["components"]["schemas"]
