"""The supervision rules as pure functions: expected progress, colours at their boundaries,
rule versions, the Decidim roll-up, and properties that hold for any facts."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunan.coop import supervision as sv

D = date.fromisoformat
START = D("2026-01-01")
DEADLINE = START + timedelta(days=100)  # so that on day d the expected progress is d points


def facts(progress: int = 0, **changes: object) -> sv.Facts:
    values: dict[str, object] = {
        "start": START,
        "deadline": DEADLINE,
        "progress": ((START, Fraction(progress)),),
    }
    return sv.Facts(**{**values, **changes})  # type: ignore[arg-type]


def colour(f: sv.Facts, day: int, rules: sv.Thresholds = sv.DEFAULT) -> str:
    return sv.assess(f, rules, START + timedelta(days=day)).colour


def test_expected_progress_runs_from_start_to_deadline() -> None:
    assert sv.expected_progress(START, DEADLINE, START - timedelta(days=5)) == 0
    assert sv.expected_progress(START, DEADLINE, START) == 0
    assert sv.expected_progress(START, DEADLINE, START + timedelta(days=37)) == 37
    assert sv.expected_progress(START, DEADLINE, DEADLINE) == 100
    assert sv.expected_progress(START, DEADLINE, DEADLINE + timedelta(days=9)) == 100
    assert sv.expected_progress(START, START, START) == 100  # a one-day task is due at once
    assert sv.expected_progress(START, START + timedelta(days=3), START + timedelta(days=1)) == (
        Fraction(100, 3)
    )


@pytest.mark.parametrize(
    ("progress", "day", "expected"),
    [
        (0, 9, "绿"),  # 9 behind
        (0, 10, "黄"),  # 10 behind: X
        (0, 29, "黄"),
        (0, 30, "红"),  # 30 behind: Y
        (80, 84, "绿"),  # 4 behind, 16 days left
        (80, 85, "黄"),  # 5 behind, 15 days left: N
        (99, 100, "黄"),  # the deadline day: 1 behind, 0 days left
        (99, 101, "红"),  # overdue
        (100, 150, "绿"),  # done is never flagged
    ],
)
def test_colour_boundaries(progress: int, day: int, expected: str) -> None:
    assert colour(facts(progress), day) == expected


def test_a_fraction_of_a_point_below_the_threshold_is_still_green() -> None:
    # 300 days planned: on day 31 the expected progress is 10⅓; 0.4 points short of X with 1.
    f = facts(1, deadline=START + timedelta(days=300))
    assert colour(f, 30) == "绿"  # 10 − 1 = 9 behind
    assert colour(f, 33) == "黄"  # 11 − 1 = 10 behind
    assert sv.assess(f, sv.DEFAULT, START + timedelta(days=32)).behind == Fraction(29, 3)
    assert colour(f, 32) == "绿"  # 9⅔ behind


def test_a_completion_approval_makes_a_task_green_from_that_day() -> None:
    f = facts(40, completed_on=START + timedelta(days=120))
    assert colour(f, 119) == "红"
    a = sv.assess(f, sv.DEFAULT, START + timedelta(days=120))
    assert (a.colour, a.why) == ("绿", "已办结")


def test_an_approved_extension_counts_from_the_day_of_approval() -> None:
    later = DEADLINE + timedelta(days=100)
    f = facts(60, extensions=((START + timedelta(days=90), later),))
    assert f.deadline_on(START + timedelta(days=89)) == DEADLINE
    before = sv.assess(f, sv.DEFAULT, START + timedelta(days=89))
    assert (before.colour, before.why) == ("黄", "落后序时进度29个百分点（黄灯线10）")
    assert f.deadline_on(START + timedelta(days=90)) == later
    assert colour(f, 90) == "绿"  # 45 expected of 200 days, 60 done


def test_the_rules_in_force_are_the_latest_version_by_effective_date() -> None:
    strict = sv.Thresholds(5, 30, 15)
    lax = sv.Thresholds(20, 5, 50)
    versions = [
        sv.RuleVersion(D("2026-02-01"), 1, strict),
        sv.RuleVersion(D("2026-01-15"), 2, lax),
    ]
    assert sv.rules_on(versions, D("2026-01-14")) == sv.DEFAULT
    assert sv.rules_on(versions, D("2026-01-20")) == lax
    assert sv.rules_on(versions, D("2026-02-01")) == strict  # later date wins, not later seq
    again = [*versions, sv.RuleVersion(D("2026-02-01"), 3, lax)]
    assert sv.rules_on(again, D("2026-03-01")) == lax  # same date: the one set last


def test_a_parent_rolls_up_its_children_as_decidim_does() -> None:
    p = Fraction
    assert sv.weighted_mean([]) == 0
    assert sv.weighted_mean([(p(100), 30), (p(50), 70)]) == 65
    assert sv.weighted_mean([(p(100), 1), (p(0), 3)]) == 25
    assert sv.weighted_mean([(p(100), None), (p(50), None)]) == 75
    assert sv.weighted_mean([(p(100), 30), (p(50), None)]) == 75  # one weight missing: mean
    assert sv.weighted_mean([(p(40), 7)]) == 40


def test_the_progress_known_on_a_day_is_the_latest_report_filed_by_then() -> None:
    steps = sv.report_steps(
        [(5, D("2026-02-01"), 30), (9, D("2026-02-01"), 40), (12, D("2026-03-01"), 35)]
    )
    assert sv.value_on(steps, D("2026-01-31")) == 0
    assert sv.value_on(steps, D("2026-02-15")) == 40  # the higher index that day
    assert sv.value_on(steps, D("2026-03-01")) == 35  # a correction downwards counts
    # A report written later (higher index) with an earlier time still wins once both are in.
    skewed = sv.report_steps([(3, D("2026-02-10"), 50), (4, D("2026-02-09"), 20)])
    assert sv.value_on(skewed, D("2026-02-09")) == 20
    assert sv.value_on(skewed, D("2026-02-10")) == 20


def test_the_history_lists_the_changes_from_the_start() -> None:
    f = sv.Facts(START, DEADLINE, ((START + timedelta(days=40), Fraction(35)),))
    changes = sv.history(f, [], START + timedelta(days=42))
    assert [(c.day - START).days for c in changes] == [0, 10, 30, 40]
    assert [c.colour for c in changes] == ["绿", "黄", "红", "绿"]
    assert sv.history(f, [], START - timedelta(days=1)) == []


def test_progress_is_shown_with_one_decimal_rounding_halves_up() -> None:
    assert sv.one_decimal(Fraction(1, 3) * 100) == 33.3
    assert sv.one_decimal(Fraction(2, 3) * 100) == 66.7
    assert sv.one_decimal(Fraction(1225, 100)) == 12.3
    assert sv.one_decimal(Fraction(50)) == 50.0


# --- properties -----------------------------------------------------------------------------

days = st.integers(min_value=-30, max_value=400)
progresses = st.integers(min_value=0, max_value=100)
durations = st.integers(min_value=0, max_value=365)
thresholds = st.builds(
    lambda x, n, extra: sv.Thresholds(x, n, min(100, x + extra)),
    st.integers(1, 60),
    st.integers(0, 60),
    st.integers(0, 40),
)
SEVERITY = {"绿": 0, "黄": 1, "红": 2}


@given(durations, days)
def test_expected_progress_is_between_0_and_100_and_never_falls(length: int, day: int) -> None:
    deadline = START + timedelta(days=length)
    today = START + timedelta(days=day)
    e = sv.expected_progress(START, deadline, today)
    assert 0 <= e <= 100
    assert sv.expected_progress(START, deadline, today + timedelta(days=1)) >= e


@given(durations, days, progresses, progresses, thresholds)
def test_more_progress_never_makes_the_colour_worse(
    length: int, day: int, low: int, high: int, rules: sv.Thresholds
) -> None:
    low, high = min(low, high), max(low, high)
    f = facts(deadline=START + timedelta(days=length))
    worse = colour(sv.Facts(f.start, f.deadline, ((START, Fraction(low)),)), day, rules)
    better = colour(sv.Facts(f.start, f.deadline, ((START, Fraction(high)),)), day, rules)
    assert SEVERITY[better] <= SEVERITY[worse]


@given(durations, days, progresses, thresholds)
def test_overdue_and_not_done_is_red_and_done_is_green(
    length: int, day: int, progress: int, rules: sv.Thresholds
) -> None:
    f = facts(progress, deadline=START + timedelta(days=length))
    c = colour(f, day, rules)
    if progress == 100:
        assert c == "绿"
    elif START + timedelta(days=day) > f.deadline:
        assert c == "红"


@given(
    st.lists(st.tuples(st.integers(0, 150), progresses), max_size=6),
    durations,
    st.integers(0, 400),
)
def test_the_history_ends_on_the_colour_of_today(
    reports: list[tuple[int, int]], length: int, until: int
) -> None:
    steps = sv.report_steps((i, START + timedelta(days=d), p) for i, (d, p) in enumerate(reports))
    f = sv.Facts(START, START + timedelta(days=length), steps)
    today = START + timedelta(days=until)
    changes = sv.history(f, [], today)
    assert changes[0].day == START
    assert all(a.colour != b.colour for a, b in itertools.pairwise(changes))
    assert changes[-1].colour == sv.assess(f, sv.DEFAULT, today).colour


@given(st.lists(st.tuples(progresses, st.one_of(st.none(), st.integers(1, 100))), min_size=1))
def test_a_rolled_up_progress_lies_between_its_childrens(
    children: list[tuple[int, int | None]],
) -> None:
    mean = sv.weighted_mean([(Fraction(p), w) for p, w in children])
    assert min(p for p, _ in children) <= mean <= max(p for p, _ in children)
