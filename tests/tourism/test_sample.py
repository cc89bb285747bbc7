"""The demo's residents go in through each city's own import API (示例数据, never a real
person), and each city's ticket office then finds its own residents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import CITIES, separate_nodes

from lunan.apps.divisions import city_of
from lunan.apps.ids import parse_resident_id
from lunan.sample import sharing as sample_sharing
from lunan.sample import tourism as sample
from lunan.sample.api import DemoApi, SeedError


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoApi]:
    """Four separate nodes (not federated: residents are node-local), each called through its
    API with its coordinator's token, as the demo does."""
    with separate_nodes(tmp_path) as clients:
        yield DemoApi(clients, settle=lambda: None)


def publish_entries(demo: DemoApi) -> None:
    """What the sharing sample does first: each city's resident-check entry."""
    for city in CITIES:
        demo.post(city, "/api/v1/sharing/catalog", sample_sharing.resident_check(city))


def test_the_residents_are_synthetic_valid_and_in_their_city() -> None:
    for city in CITIES:
        people = sample.residents(city)
        assert len(people) == sample.RESIDENTS_PER_CITY
        assert all(city_of(p.region) == city for p in people)
        for p in people:
            parse_resident_id(p.id_number)  # a valid check character
        assert people == sample.residents(city)  # the same every run


def test_each_city_imports_its_residents_and_its_gate_finds_them(demo: DemoApi) -> None:
    publish_entries(demo)
    sample.seed(demo)
    for city, numbers in sample.visitors().items():
        [service] = demo.get(city, "/api/v1/data/services")
        assert (service["service"], service["adapter"]) == ("resident-check", "table")
        for number in numbers:
            found = demo.post(
                city,
                "/api/v1/apps/tourism/check",
                {"attraction": f"{city}-A01", "id_number": number},
            )
            assert (found["local"], found["resident_city"]) == (True, city)


def test_seeding_without_the_catalog_entries_says_what_to_do(demo: DemoApi) -> None:
    with pytest.raises(SeedError, match="404"):
        sample.seed(demo)
