"""Fixtures of the exchange tests: the four cities in one database, 临沂 providing its resident
check, and a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import SHARING_TODAY, Clock, ExchangeCities, exchange_cities, sharing_clock


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """`clock(day)`: events are written on that day and it is "today" for agreements and
    quotas. Every test starts on SHARING_TODAY."""
    return sharing_clock(monkeypatch, SHARING_TODAY)


@pytest.fixture
def ex(tmp_path: Path, database_url: str) -> Iterator[ExchangeCities]:
    with exchange_cities(tmp_path, database_url) as e:
        yield e
