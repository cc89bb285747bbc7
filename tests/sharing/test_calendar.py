"""The alliance's working-day calendar (lunan.calendar): the chair publishes a year as an event,
every node counts request deadlines in it, a later publication replaces an earlier one, and a
deadline that reaches into a year nobody published is flagged as estimated (Monday–Friday)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from factories import (
    CHAIR,
    CITIES,
    SharingCities,
    assert_any_interleaving_folds_the_same,
    calendar_body,
    hand_over,
    user_of,
)

from lunan.calendar import actions, queries
from lunan.calendar.events import PUBLISHED
from lunan.events.errors import Forbidden, Invalid
from lunan.sharing import queries as sharing_queries
from lunan.sharing.workdays import BUILT_IN, WorkCalendar, YearDays

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
Refuses = Callable[..., AbstractContextManager[None]]
Clock = Callable[[dt.date], None]
D = dt.date.fromisoformat
ADMIN = user_of(CHAIR, "admin")


def publish(sc: SharingCities, **changes: object) -> actions.Published:
    return actions.publish_year(sc.parts[CHAIR], ADMIN, calendar_body(**changes))


def request_due(sc: SharingCities, city: str, request_id: str) -> tuple[dt.date, bool]:
    """The deadline as `city`'s node shows it, and whether it is an estimate."""
    view = sharing_queries.request(sc.parts[city].projector.engine, request_id)
    assert view is not None
    return view.due, view.deadline_estimated


def test_a_published_year_moves_the_deadline_on_every_node(sc: SharingCities, clock: Clock) -> None:
    clock(D("2026-12-21"))  # a Monday: ten working days reach into 2027
    request_id = sc.request(ZAOZHUANG, sc.resident_check(HEZE))
    for city in CITIES:  # Monday to Friday only: 1 January 2027 counted as a working day
        assert request_due(sc, city, request_id) == (D("2027-01-04"), True)

    result = publish(sc)
    assert (result.status, result.object, result.year) == ("published", "calendar/371300/1", 2027)
    for city in CITIES:  # 1–3 January are holidays now, and nothing is estimated
        assert request_due(sc, city, request_id) == (D("2027-01-05"), False)
    [view] = queries.years(sc.h.engine, 2027)
    assert (view.origin, view.published_by, view.published_by_name, view.revision) == (
        "published",
        CHAIR,
        "临沂",
        1,
    )
    assert view.actor == ADMIN.actor() and view.event == f"{CHAIR}:{sc.sizes()[CHAIR] - 1}"
    assert view.working_weekends == [D("2027-02-13")] and len(view.holidays) == 10


def test_a_later_publication_replaces_the_earlier(sc: SharingCities, clock: Clock) -> None:
    clock(D("2026-12-21"))
    request_id = sc.request(ZAOZHUANG, sc.resident_check(HEZE))
    publish(sc)
    corrected = calendar_body()["holidays"] + ["2027-01-04"]
    result = publish(sc, holidays=corrected, source="更正（示例数据）")
    assert (result.status, result.object) == ("replaced", "calendar/371300/2")
    [view] = queries.years(sc.h.engine, 2027)
    assert (view.revision, view.object, view.source) == (2, "calendar/371300/2", "更正（示例数据）")
    assert request_due(sc, HEZE, request_id) == (D("2027-01-06"), False)

    before = sc.sizes()
    again = publish(sc, holidays=corrected, source="更正（示例数据）")
    assert (again.status, again.object) == ("unchanged", "calendar/371300/2")
    assert sc.sizes() == before  # nothing written for a publication that changes nothing


def test_the_next_chair_corrects_the_year_and_the_last_one_no_longer_can(
    sc: SharingCities, refuses: Refuses
) -> None:
    publish(sc)
    hand_over(sc.h, CHAIR, ZAOZHUANG, D("2027-01-01"), D("2027-12-31"))
    with refuses(Forbidden, match="chair"):
        publish(sc)
    status = sc.raw(CHAIR, PUBLISHED, "calendar/371300/9", calendar_body(source="旧轮值城市"))
    assert status == ("rejected", "not-chair")

    zaozhuang = actions.publish_year(
        sc.parts[ZAOZHUANG], user_of(ZAOZHUANG, "admin"), calendar_body(working_weekends=[])
    )
    assert (zaozhuang.status, zaozhuang.object) == ("replaced", "calendar/370400/1")
    [view] = queries.years(sc.h.engine, 2027)
    assert (view.published_by, view.revision, view.working_weekends) == (ZAOZHUANG, 2, [])


def test_only_the_chair_citys_administrator_publishes(sc: SharingCities, refuses: Refuses) -> None:
    body = calendar_body()
    with refuses(Forbidden, match="chair city"):
        actions.publish_year(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG, "admin"), body)
    with refuses(Forbidden, match="administrator"):
        actions.publish_year(sc.parts[CHAIR], user_of(CHAIR, "coordinator"), body)
    with refuses(Forbidden, match="acts only for its own city"):
        actions.publish_year(sc.parts[CHAIR], user_of(ZAOZHUANG, "admin"), body)
    assert queries.years(sc.h.engine, 2027) == []


def test_a_publication_in_a_non_chair_log_is_rejected_everywhere(sc: SharingCities) -> None:
    status = sc.raw(ZAOZHUANG, PUBLISHED, "calendar/370400/1", calendar_body())
    assert status == ("rejected", "not-chair")
    assert queries.years(sc.h.engine, 2027) == []
    assert 2027 not in queries.work_calendar(sc.h.engine).years


BAD_CALENDARS: list[tuple[dict[str, Any], str, str]] = [
    ({"holidays": ["2028-01-01"]}, "holidays", "不在2027年内"),
    ({"holidays": ["2027-1-1"]}, "holidays[0]", "YYYY-MM-DD"),
    ({"holidays": ["2027-02-30"]}, "holidays[0]", "not a date"),
    ({"holidays": [1798761600]}, "holidays[0]", "YYYY-MM-DD"),
    ({"holidays": ["2027-01-01T00:00:00"]}, "holidays[0]", "YYYY-MM-DD"),
    ({"holidays": []}, "holidays", "at least one holiday"),
    ({"holidays": ["2027-01-01", "2027-01-01"]}, "holidays", "listed twice"),
    ({"working_weekends": ["2027-02-15"]}, "working_weekends", "not a Saturday or Sunday"),
    ({"working_weekends": ["2027-01-02"]}, "working_weekends", "both a holiday"),
    ({"working_weekends": ["2026-12-26"]}, "working_weekends", "不在2027年内"),
    ({"source": "  "}, "source", "notice"),
    ({"year": 1999}, "year", "2000–2100"),
    ({"extra": 1}, "extra", "unknown field"),
]


@pytest.mark.parametrize(("changes", "field", "match"), BAD_CALENDARS)
def test_a_bad_calendar_is_refused_and_nothing_is_written(
    sc: SharingCities, refuses: Refuses, changes: dict[str, Any], field: str, match: str
) -> None:
    with refuses(Invalid, field=field, match=match):
        publish(sc, **changes)


def test_a_bad_calendar_in_a_log_is_rejected_as_an_invalid_body(sc: SharingCities) -> None:
    body = calendar_body(working_weekends=["2027-02-15"])  # a Monday
    assert sc.raw(CHAIR, PUBLISHED, "calendar/371300/1", body) == ("rejected", "invalid-body")
    assert queries.years(sc.h.engine, 2027) == []


def test_a_deadline_in_a_year_without_a_calendar_is_an_estimate(
    sc: SharingCities, clock: Clock
) -> None:
    in_2026 = sc.request(ZAOZHUANG, sc.resident_check(HEZE))
    assert request_due(sc, ZAOZHUANG, in_2026) == (D("2026-03-16"), False)
    clock(D("2028-03-01"))  # a Wednesday of a year nobody has published
    in_2028 = sc.request(ZAOZHUANG, sc.resident_check(HEZE))
    assert request_due(sc, ZAOZHUANG, in_2028) == (D("2028-03-15"), True)
    view = sharing_queries.request(sc.h.engine, in_2028)
    assert view is not None and view.model_dump()["deadline_estimated"] is True


def test_a_published_year_overrides_the_built_in_one(sc: SharingCities) -> None:
    request_id = sc.request(ZAOZHUANG, sc.resident_check(HEZE))  # 2026-03-02, due 03-16
    assert [(v.year, v.origin) for v in queries.years(sc.h.engine)] == [
        (2025, "built-in"),
        (2026, "built-in"),
    ]
    built_in = BUILT_IN[2026]
    holidays = sorted(d.isoformat() for d in {*built_in.holidays, D("2026-03-09")})
    weekends = sorted(d.isoformat() for d in built_in.working_weekends)
    publish(sc, year=2026, holidays=holidays, working_weekends=weekends)
    assert request_due(sc, HEZE, request_id) == (D("2026-03-17"), False)
    [view] = queries.years(sc.h.engine, 2026)
    assert (view.origin, view.replaces_built_in) == ("published", True)
    assert D("2026-03-09") in queries.work_calendar(sc.h.engine).holidays


def test_the_merged_calendar_and_its_estimates() -> None:
    extra = YearDays(2027, frozenset({D("2027-01-01")}), frozenset({D("2027-02-13")}), "示例")
    calendar = WorkCalendar.merged([extra])
    assert sorted(calendar.years) == [2025, 2026, 2027]
    assert calendar.add_working_days(D("2026-12-31"), 1) == D("2027-01-04")
    assert calendar.working_days_between(D("2027-02-12"), D("2027-02-15")) == 2
    assert not calendar.estimated(D("2026-12-21"), D("2027-01-05"))
    assert calendar.estimated(D("2027-12-27"), D("2028-01-10"))
    assert WorkCalendar.merged().estimated(D("2026-12-31"), D("2027-01-01"))
    assert not WorkCalendar.merged().estimated(D("2026-12-30"), D("2026-12-31"))
    assert queries.spans_text(
        [D("2027-01-03"), D("2027-01-01"), D("2027-01-02"), D("2027-02-13")]
    ) == ("2027-01-01~2027-01-03, 2027-02-13")


def test_any_interleaving_folds_to_the_same_calendar(sc: SharingCities) -> None:
    publish(sc)
    publish(sc, holidays=calendar_body()["holidays"][:3], source="更正（示例数据）")
    sc.raw(ZAOZHUANG, PUBLISHED, "calendar/370400/1", calendar_body(source="非轮值城市"))
    sc.request(ZAOZHUANG, sc.resident_check(HEZE))
    hand_over(sc.h, CHAIR, ZAOZHUANG, D("2027-01-01"), D("2027-12-31"))
    sc.raw(CHAIR, PUBLISHED, "calendar/371300/9", calendar_body(source="旧轮值城市"))
    actions.publish_year(
        sc.parts[ZAOZHUANG], user_of(ZAOZHUANG, "admin"), calendar_body(source="新轮值城市")
    )
    sc.raw(JINING, PUBLISHED, "calendar/370800/1", calendar_body(year=2028, holidays=[]))
    [view] = queries.years(sc.h.engine, 2027)
    assert (view.published_by, view.revision, view.source) == (ZAOZHUANG, 3, "新轮值城市")
    assert_any_interleaving_folds_the_same(sc.h, examples=20, steps=60)
