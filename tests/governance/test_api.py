"""The governance API over HTTP: who may do what, problem documents, and the flows end to end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories import CHAIR, CITIES, Gov
from fastapi.testclient import TestClient

Client = Callable[..., TestClient]  # the client_for fixture (conftest.py)

API = "/api/v1/governance"
ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"

MEETING: dict[str, Any] = {
    "number": 2,
    "title": "鲁南经济圈一体化发展推进会暨第2次联席会议",
    "date": "2021-05-13",
    "host_city": CHAIR,
    "place": "临沂",
}
AGREEMENT: dict[str, Any] = {
    "title": "鲁南经济圈党媒战略合作意向书",
    "kind": "意向书",
    "text": "（示例数据）合作意向",
    "parties": list(CITIES),
}


def test_a_meeting_from_planning_to_approved_minutes(client_for: Client) -> None:
    chair = client_for(CHAIR)
    r = chair.post(f"{API}/meetings", json=MEETING)
    assert r.status_code == 201, r.text
    meeting = r.json()["id"]
    path = f"{API}/meetings/{meeting.removeprefix('meeting/')}"
    agenda = [{"id": "a1", "title": "启动系列活动", "children": [{"id": "a1.1", "title": "致辞"}]}]
    assert chair.put(f"{path}/agenda", json={"agenda": agenda}).status_code == 200
    attendees = [{"city": c, "people": ["分管负责同志（示例数据）"]} for c in CITIES]
    assert chair.put(f"{path}/attendees", json={"attendees": attendees}).status_code == 200
    assert chair.post(f"{path}/approve", json={}).status_code == 409  # not held yet
    assert chair.post(f"{path}/held", json={}).status_code == 200
    minutes = {"minutes": "纪要（示例数据）", "resolutions": [{"id": "r1", "text": "签订意向书"}]}
    assert chair.post(f"{path}/minutes", json=minutes).status_code == 200
    assert chair.post(f"{path}/approve", json={}).status_code == 200
    r = chair.post(f"{path}/held", json={})
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:lunan:problem:conflict"

    view = client_for(HEZE, "viewer").get(path).json()
    assert (view["status"], view["status_label"]) == ("approved", "纪要已审定")
    assert view["agenda"][0]["children"][0]["title"] == "致辞"
    assert [a["city"] for a in view["attendees"]] == list(CITIES)

    r = chair.post(f"{path}/resolutions/r1/agreements", json=AGREEMENT)
    assert r.status_code == 201, r.text
    created = chair.get(f"{path}/created").json()
    assert created == [
        {
            "object": r.json()["id"],
            "kind": "agreement",
            "resolution": "r1",
            "linked": True,
            "names_source": True,
        }
    ]
    assert [m["id"] for m in chair.get(f"{API}/meetings").json()] == [meeting]


def test_every_party_signs_through_its_own_node(client_for: Client) -> None:
    r = client_for(CHAIR).post(f"{API}/agreements", json=AGREEMENT)
    assert r.status_code == 201, r.text
    path = f"{API}/agreements/{r.json()['id'].removeprefix('agreement/')}"
    for city in CITIES:
        client = client_for(city)
        assert not client.get(path).json()["effective"]
        text_sha256 = client.get(path).json()["text_sha256"]
        r = client.post(f"{path}/sign", json={"text_sha256": text_sha256})
        assert r.status_code == 201, r.text
        assert r.json()["id"] == f"signature/{city}/1"
    view = client_for(JINING, "auditor").get(path).json()
    assert view["effective"] and view["status_label"] == "已生效"
    assert all(p["signed"] and p["signed_time"] for p in view["parties"])
    listed = client_for(JINING, "viewer").get(f"{API}/agreements", params={"effective": "true"})
    assert [a["id"] for a in listed.json()] == [view["id"]]


def test_the_chair_is_handed_over_and_accepted(client_for: Client) -> None:
    viewer = client_for(JINING, "viewer")
    view = viewer.get(f"{API}/chair").json()
    assert (view["chair"], view["chair_name"]) == (CHAIR, "临沂")
    assert [t["city"] for t in view["terms"]] == [CHAIR, ZAOZHUANG]
    assert client_for(ZAOZHUANG).post(f"{API}/chair/handover", json={}).status_code == 403
    r = client_for(CHAIR).post(f"{API}/chair/handover", json={})
    assert (r.status_code, r.json()["field"]) == (409, "early")
    r = client_for(CHAIR).post(f"{API}/chair/handover", json={"early": True, "note": "移交"})
    assert r.status_code == 201
    assert viewer.get(f"{API}/chair").json()["pending"]["id"] == r.json()["id"]
    r = client_for(ZAOZHUANG).post(f"{API}/chair/accept", json={})
    assert r.status_code == 201
    assert viewer.get(f"{API}/chair").json()["chair"] == ZAOZHUANG
    # Alliance-wide objects are now the new chair's.
    assert client_for(CHAIR).post(f"{API}/meetings", json=MEETING).status_code == 403
    assert client_for(ZAOZHUANG).post(f"{API}/meetings", json=MEETING).status_code == 201


@pytest.mark.parametrize(
    ("city", "role", "user_city"),
    [
        (CHAIR, "viewer", None),  # reads only
        (CHAIR, "officer", None),  # no governance permission
        (CHAIR, "coordinator", ZAOZHUANG),  # a user of another city
        (ZAOZHUANG, "coordinator", None),  # not the chair's node
    ],
)
def test_a_write_by_the_wrong_role_or_city_is_403_and_stores_nothing(
    gov: Gov, client_for: Client, city: str, role: str, user_city: str | None
) -> None:
    client = client_for(city, role, user_city)
    sizes = gov.sizes()
    r = client.post(f"{API}/meetings", json=MEETING)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert gov.sizes() == sizes
    assert client.get(f"{API}/meetings").json() == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("meetings", {**MEETING, "host_city": "linyi"}, "host_city"),
        ("meetings", {**MEETING, "date": "5月13日"}, "date"),
        ("meetings", {**MEETING, "host_city": "370100"}, "host_city"),  # not a member
        ("agreements", {**AGREEMENT, "kind": "备忘录"}, "kind"),
        ("agreements", {**AGREEMENT, "parties": [CHAIR]}, "parties"),
        ("agreements", {**AGREEMENT, "parties": [ZAOZHUANG, JINING]}, "parties"),
        ("bodies", {"kind": "工作专班", "name": "专班", "lead_city": CHAIR}, "lead_department"),
        ("projects", {"name": ""}, "name"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    gov: Gov, client_for: Client, path: str, body: dict[str, Any], field: str
) -> None:
    client = client_for(CHAIR)
    sizes = gov.sizes()
    r = client.post(f"{API}/{path}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert gov.sizes() == sizes


def test_reads_need_a_signed_in_user_and_unknown_objects_are_404(
    client_for: Client,
) -> None:
    client = client_for(CHAIR, "viewer")
    assert client.get(f"{API}/bodies/371300/1").status_code == 404
    assert client.get(f"{API}/agreements/371300/x").status_code == 400
    anonymous = client_for(CHAIR)
    anonymous.headers.pop("Authorization")
    r = anonymous.get(f"{API}/chair")
    assert r.status_code == 401


def test_projects_are_recorded_and_changed_by_their_own_city(client_for: Client) -> None:
    linyi = client_for(CHAIR)
    body = {"name": "格力电器(临沂)智能制造基地", "location": "临沂", "area": "产业协同"}
    r = linyi.post(f"{API}/projects", json=body)
    assert r.status_code == 201
    path = f"{API}/projects/{r.json()['id'].removeprefix('project/')}"
    assert linyi.put(path, json={**body, "description": "落地项目"}).status_code == 200
    assert client_for(JINING).put(path, json=body).status_code == 403
    view = client_for(JINING, "viewer").get(path).json()
    assert (view["recorded_by_name"], view["description"]) == ("临沂", "落地项目")


def test_the_openapi_document_describes_the_governance_api(client_for: Client) -> None:
    app = client_for(CHAIR).app
    schema = app.openapi()  # type: ignore[attr-defined]
    assert f"{API}/agreements/{{city}}/{{n}}/sign" in schema["paths"]
    assert "AgreementView" in schema["components"]["schemas"]
