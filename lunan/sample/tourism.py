"""The tourism 同城化 demo: each city's synthetic resident registry (示例数据), loaded through
its own node's import API into its "户籍/居住证 核验" catalog entry.

Runs after the sharing sample (lunan.sample.sharing), which publishes that entry in every city
(service `resident-check`) and the agreements by which each city asks the others. The residents
are generated, never real: names drawn at random, ID numbers with valid GB 11643 check
characters (lunan.apps.tourism.residents). The same `SEED` gives the same residents, so the
demo's ticket office can be tried with `visitors()`.
"""

from __future__ import annotations

import csv
import io

from lunan.apps.divisions import CITIES
from lunan.apps.tourism.registry import attractions_in
from lunan.apps.tourism.residents import HEADER, Resident, generate
from lunan.sample import sharing
from lunan.sample.api import DemoApi, SeedError

RESIDENTS_PER_CITY = 200
SEED = "lunan-demo"  # 示例数据: a fixed seed, so the demo's residents are the same every run
IMPORT_PATH = "/api/v1/data/import"


def residents(city: str) -> list[Resident]:
    """The demo's synthetic residents of `city` (示例数据)."""
    return generate(city, RESIDENTS_PER_CITY, SEED)


def visitors() -> dict[str, list[str]]:
    """A few demo residents' ID numbers per city, to try the ticket office with (示例数据)."""
    return {city: [r.id_number for r in residents(city)[:3]] for city in CITIES}


def csv_bytes(people: list[Resident]) -> bytes:
    """The registry file format of lunan.apps.tourism.residents (UTF-8, header `HEADER`)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows((r.id_number, r.name, r.region) for r in people)
    return out.getvalue().encode()


def seed(api: DemoApi) -> None:
    """Import every city's synthetic residents into its own resident-check entry, on its own
    node (node-local rows: no events, nothing replicated)."""
    for city in CITIES:
        code = sharing.resident_check(city)["code"]
        data = csv_bytes(residents(city))
        files = {"file": (f"residents-{city}.csv", data, "text/csv")}
        # DemoApi posts JSON only; an upload goes through the city's client directly.
        r = api.clients[city].post(IMPORT_PATH, params={"entry": code}, files=files)
        if r.status_code >= 400:
            raise SeedError(f"POST {r.request.url} → {r.status_code}: {r.text}")
    # A few ticket-office checks at each city's first attraction, so that the exchange record
    # and the overview's volumes are not empty on a fresh demo: each city checks a resident of
    # the next city (local price, through the exchange) and one of its own.
    people = visitors()
    cities = list(CITIES)
    for i, city in enumerate(cities):
        attraction = attractions_in(city)[0].code
        for resident_city in (cities[(i + 1) % len(cities)], city):
            body = {"attraction": attraction, "id_number": people[resident_city][0]}
            api.post(city, "/api/v1/apps/tourism/check", body)
