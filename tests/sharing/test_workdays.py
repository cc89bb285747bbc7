"""Working days for the reply deadline: Monday to Friday, less public holidays, plus the
weekend days worked instead (调休)."""

from __future__ import annotations

import datetime as dt

from lunan.sharing.workdays import (
    DEADLINE_WORKING_DAYS,
    add_working_days,
    is_working_day,
    working_days_between,
)

D = dt.date.fromisoformat


def test_ten_working_days_skip_weekends() -> None:
    assert DEADLINE_WORKING_DAYS == 10
    assert add_working_days(D("2026-03-02"), 10) == D("2026-03-16")  # Monday → Monday
    assert add_working_days(D("2026-03-06"), 1) == D("2026-03-09")  # Friday → Monday
    assert add_working_days(D("2026-03-07"), 0) == D("2026-03-07")


def test_holidays_and_adjusted_working_weekends() -> None:
    assert not is_working_day(D("2026-02-16"))  # 春节, a Monday
    assert is_working_day(D("2026-02-14"))  # a Saturday worked instead
    # From 2026-02-13 (Friday): 14th (Sat, worked), then 24th… past the Spring Festival.
    assert add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert add_working_days(D("2026-02-13"), 2) == D("2026-02-24")
    assert add_working_days(D("2025-09-30"), 1) == D("2025-10-09")  # 国庆 + 中秋 2025
    assert is_working_day(D("2025-10-11"))


def test_a_custom_calendar() -> None:
    monday = D("2027-05-03")
    assert add_working_days(monday, 1, holidays={D("2027-05-04")}) == D("2027-05-05")
    assert add_working_days(D("2027-05-07"), 1, working_weekends={D("2027-05-08")}) == D(
        "2027-05-08"
    )


def test_working_days_between() -> None:
    assert working_days_between(D("2026-03-02"), D("2026-03-16")) == 10
    assert working_days_between(D("2026-03-16"), D("2026-03-02")) == -10
    assert working_days_between(D("2026-03-07"), D("2026-03-08")) == 0
