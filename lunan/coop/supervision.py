"""Supervision (督查督办): a task's expected progress, its colour on a day, its colour history.

Pure functions of a task's facts (start, deadline, the progress known on each day, approved
extensions and completion), the rules in force each day, and a date. Nothing here is stored:
a colour changes with the calendar, so it is computed when asked, and the same facts always
give the same history.

The rules (../shared/reference/governance-ux.md §2; there is no national standard, so they are
configurable, and the defaults follow 银川's traffic lights):

    expected = elapsed / planned duration × 100   (0 before the start, 100 from the deadline)
    behind   = expected − progress
    绿  the task is done (办结 approved, or progress 100) — a done task is never flagged
    红  past the deadline (in force that day) and not done, or behind ≥ Y points
    黄  behind ≥ X points, or the deadline is at most N days away
    绿  otherwise: on track

Defaults X = 10, N = 15, Y = 30. Arithmetic is exact (fractions), so boundaries are sharp:
behind by exactly X points is 黄, by a hair less is 绿.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Literal

Colour = Literal["绿", "黄", "红"]
GREEN: Colour = "绿"
YELLOW: Colour = "黄"
RED: Colour = "红"
HUNDRED = Fraction(100)


@dataclass(frozen=True)
class Thresholds:
    yellow_behind: int = 10  # X: points behind the expected progress that make 黄
    yellow_days: int = 15  # N: days to the deadline that make 黄
    red_behind: int = 30  # Y: points behind that make 红


DEFAULT = Thresholds()


@dataclass(frozen=True)
class RuleVersion:
    effective_from: date
    seq: int  # the order the chairs set the versions in
    thresholds: Thresholds


def rules_on(versions: Iterable[RuleVersion], day: date) -> Thresholds:
    """The rules in force on `day`: the version with the latest `effective_from` not after
    it (of two with the same date, the one set last); the defaults before any version."""
    in_force = [v for v in versions if v.effective_from <= day]
    if not in_force:
        return DEFAULT
    return max(in_force, key=lambda v: (v.effective_from, v.seq)).thresholds


# --- progress over time ---------------------------------------------------------------------

# The progress known from each day on: (day, progress), days ascending; 0 before the first.
Steps = tuple[tuple[date, Fraction], ...]


def value_on(steps: Steps, day: date) -> Fraction:
    i = bisect_right(steps, day, key=lambda step: step[0])
    return steps[i - 1][1] if i else Fraction(0)


def report_steps(reports: Iterable[tuple[int, date, int]]) -> Steps:
    """The lead's reports as (index in the lead's log, day filed, progress) → the progress
    known on each day: that of the latest report (highest index) filed by that day."""
    steps: list[tuple[date, Fraction]] = []
    latest: tuple[int, int] | None = None  # (index, progress)
    for idx, day, progress in sorted(reports, key=lambda r: (r[1], r[0])):
        if latest is None or idx > latest[0]:
            latest = (idx, progress)
        step = (day, Fraction(latest[1]))
        if steps and steps[-1][0] == day:
            steps[-1] = step
        else:
            steps.append(step)
    return tuple(steps)


def weighted_mean(children: Sequence[tuple[Fraction, int | None]]) -> Fraction:
    """A parent's progress from its children's (progress, weight): Σ(p·w)/Σw when every child
    has a weight, the plain mean otherwise; 0 without children.

    Decidim's accountability rule (governance-ux.md §1), adapted to weights that are integers
    1–100 rather than shares of 1: Decidim ignores the weights when any of several children
    carries the default weight; our default is no weight at all."""
    if not children:
        return Fraction(0)
    weights = [w for _, w in children]
    if all(w is not None for w in weights):
        total = sum(w for w in weights if w is not None)
        return sum((p * (w or 0) for p, w in children), Fraction(0)) / total
    return sum((p for p, _ in children), Fraction(0)) / len(children)


def rollup_steps(children: Sequence[tuple[Steps, int | None]]) -> Steps:
    """A parent's progress over time from its children's (steps, weight)."""
    days = sorted({day for steps, _ in children for day, _ in steps})
    return tuple(
        (day, weighted_mean([(value_on(steps, day), w) for steps, w in children])) for day in days
    )


# --- the colour on a day --------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What supervision needs to know of a task."""

    start: date
    deadline: date  # as registered
    progress: Steps = ()
    extensions: tuple[tuple[date, date], ...] = ()  # approved: (day approved, new deadline)
    completed_on: date | None = None  # the day a completion (办结) was approved

    def deadline_on(self, day: date) -> date:
        """The deadline in force: the latest new deadline approved by `day`, if any."""
        approved = [new for on, new in self.extensions if on <= day]
        return max(approved) if approved else self.deadline


def expected_progress(start: date, deadline: date, day: date) -> Fraction:
    """The progress the calendar expects (序时进度), 0–100."""
    if day >= deadline:
        return HUNDRED
    if day <= start:
        return Fraction(0)
    return HUNDRED * (day - start).days / (deadline - start).days


@dataclass(frozen=True)
class Assessment:
    day: date
    colour: Colour
    why: str
    progress: Fraction
    expected: Fraction
    deadline: date  # in force that day

    @property
    def behind(self) -> Fraction:
        return self.expected - self.progress


def one_decimal(value: Fraction) -> float:
    """How progress is shown: one decimal, halves rounded up."""
    return math.floor(value * 10 + Fraction(1, 2)) / 10


def _points(value: Fraction) -> str:
    shown = one_decimal(value)
    return str(int(shown)) if shown == int(shown) else str(shown)


def assess(facts: Facts, rules: Thresholds, day: date) -> Assessment:
    progress = value_on(facts.progress, day)
    deadline = facts.deadline_on(day)
    expected = expected_progress(facts.start, deadline, day)
    colour, why = _colour(facts, rules, day, progress, expected, deadline)
    return Assessment(day, colour, why, progress, expected, deadline)


def _colour(
    facts: Facts,
    rules: Thresholds,
    day: date,
    progress: Fraction,
    expected: Fraction,
    deadline: date,
) -> tuple[Colour, str]:
    behind = expected - progress
    days_left = (deadline - day).days
    if facts.completed_on is not None and facts.completed_on <= day:
        return GREEN, "已办结"
    if progress >= HUNDRED:
        return GREEN, "进度已达100%"
    if days_left < 0:
        return RED, f"已超过完成时限（{deadline.isoformat()}），尚未完成"
    if behind >= rules.red_behind:
        return RED, f"落后序时进度{_points(behind)}个百分点（红灯线{rules.red_behind}）"
    if behind >= rules.yellow_behind:
        return YELLOW, f"落后序时进度{_points(behind)}个百分点（黄灯线{rules.yellow_behind}）"
    if days_left <= rules.yellow_days:
        return YELLOW, f"距完成时限还有{days_left}天（提醒线{rules.yellow_days}天）"
    return GREEN, "按序时进度推进"


# --- history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    day: date
    colour: Colour
    why: str


def history(facts: Facts, versions: Sequence[RuleVersion], today: date) -> list[Change]:
    """The colour's changes from the task's start to `today`, judged day by day with what was
    known each day (reports filed, extensions and completion approved, the rules in force).
    The first entry is the colour on the start day; empty before the start."""
    changes: list[Change] = []
    day = facts.start
    while day <= today:
        a = assess(facts, rules_on(versions, day), day)
        if not changes or changes[-1].colour != a.colour:
            changes.append(Change(day, a.colour, a.why))
        day += timedelta(days=1)
    return changes
