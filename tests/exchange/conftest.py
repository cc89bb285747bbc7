"""Fixtures of the exchange tests: the four cities in one database, 临沂 providing its resident
check, and a pinned clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from factories import SHARING_TODAY, ExchangeCities, exchange_cities

Clock = Callable[[dt.date], None]


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """`clock(day)`: events are written on that day and it is "today" for agreements and
    quotas. Every test starts on SHARING_TODAY."""

    def set_day(day: dt.date) -> None:
        stamp = f"{day.isoformat()}T10:00:00.000+08:00"
        monkeypatch.setattr("lunan.events.writer.now_shanghai", lambda: stamp)
        monkeypatch.setattr("lunan.sharing.queries.today_shanghai", lambda: day)

    set_day(SHARING_TODAY)
    return set_day


@pytest.fixture
def ex(tmp_path: Path, database_url: str) -> Iterator[ExchangeCities]:
    with exchange_cities(tmp_path, database_url) as e:
        yield e
