"""The calendar over HTTP: `GET /api/v1/calendar` for anyone signed in, `PUT
/api/v1/calendar/{year}` for the chair city's administrator only; another city's node shows the
chair's calendar, and request deadlines in a year without one say they are estimated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from factories import CHAIR, SharingCities, calendar_body, problem_document
from fastapi.testclient import TestClient

Client = Callable[..., TestClient]  # the client_for fixture (conftest.py)
Clock = Callable[[dt.date], None]

API = "/api/v1/calendar"
ZAOZHUANG, HEZE = "370400", "371700"


def payload(**changes: object) -> dict[str, object]:
    body: dict[str, object] = calendar_body(**changes)
    del body["year"]  # the path's
    return body


def test_read_the_built_in_years_then_publish_one(client_for: Client, sc: SharingCities) -> None:
    heze = client_for(HEZE, "viewer")
    years = heze.get(API).json()
    assert [(y["year"], y["origin"], y["published_by"]) for y in years] == [
        (2025, "built-in", None),
        (2026, "built-in", None),
    ]
    assert years[0]["holidays"][0] == "2025-01-01"
    assert heze.get(API, params={"year": 2027}).json() == []

    admin = client_for(CHAIR, "admin")
    r = admin.put(f"{API}/2027", json=payload())
    assert r.status_code == 200, r.text
    written = r.json()
    assert (written["status"], written["object"]) == ("published", "calendar/371300/1")
    [shown] = heze.get(API, params={"year": 2027}).json()  # 菏泽's node, the chair's calendar
    assert (shown["origin"], shown["published_by"], shown["revision"]) == ("published", CHAIR, 1)
    assert shown["holidays"][:3] == ["2027-01-01", "2027-01-02", "2027-01-03"]
    assert shown == written["calendar"]

    again = admin.put(f"{API}/2027", json={**payload(), "year": 2027})
    assert again.json()["status"] == "unchanged"
    fixed = admin.put(f"{API}/2027", json=payload(working_weekends=[]))
    assert (fixed.json()["status"], fixed.json()["calendar"]["revision"]) == ("replaced", 2)


def test_only_the_chair_citys_administrator_may_publish(
    client_for: Client, sc: SharingCities
) -> None:
    sizes = sc.sizes()
    for client in (
        client_for(CHAIR, "coordinator"),
        client_for(ZAOZHUANG, "admin"),
        client_for(CHAIR, "admin", user_city=ZAOZHUANG),
    ):
        problem_document(client.put(f"{API}/2027", json=payload()), 403, "forbidden")
    assert sc.sizes() == sizes
    assert client_for(HEZE).get(API, params={"year": 2027}).json() == []


def test_a_bad_calendar_is_422_naming_the_field(client_for: Client, sc: SharingCities) -> None:
    admin, sizes = client_for(CHAIR, "admin"), sc.sizes()
    for body, field in (
        (payload(holidays=["2027-13-01"]), "holidays[0]"),
        (payload(holidays=["2028-01-01"]), "holidays"),
        (payload(working_weekends=["2027-02-15"]), "working_weekends"),
        (payload(source=""), "source"),
        ({**payload(), "year": 2028}, "year"),
        ({**payload(), "note": "x"}, "note"),
        ({"source": "通知"}, "holidays"),
    ):
        problem_document(admin.put(f"{API}/2027", json=body), 422, "invalid-input", field)
    assert sc.sizes() == sizes
    problem_document(admin.put(f"{API}/1999", json=payload()), 400, "invalid-parameters")


def test_signed_in_users_only(client_for: Client, sc: SharingCities) -> None:
    client = client_for(HEZE)
    client.headers.pop("Authorization")
    problem_document(client.get(API), 401, "unauthenticated")


def test_an_estimated_deadline_is_flagged_in_the_api_and_on_the_request_page(
    client_for: Client, sc: SharingCities, clock: Clock
) -> None:
    clock(dt.date(2026, 12, 21))
    request_id = sc.request(ZAOZHUANG, sc.resident_check(HEZE))
    city, n = request_id.split("/")[1:]
    heze = client_for(HEZE)
    view = heze.get(f"/api/v1/sharing/requests/{city}/{n}").json()
    assert (view["due"], view["deadline_estimated"]) == ("2027-01-04", True)
    page = heze.get(f"/sharing/requests/{city}/{n}")
    assert page.status_code == 200 and "按周一至周五估算" in page.text

    client_for(CHAIR, "admin").put(f"{API}/2027", json=payload())
    view = heze.get(f"/api/v1/sharing/requests/{city}/{n}").json()
    assert (view["due"], view["deadline_estimated"]) == ("2027-01-05", False)
    assert "按周一至周五估算" not in heze.get(f"/sharing/requests/{city}/{n}").text
