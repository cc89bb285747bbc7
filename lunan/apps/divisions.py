"""GB/T 2260 division codes of the four member cities (临沂, 枣庄, 济宁, 菏泽).

The data is `data/shandong-4cities-divisions.csv` (NBS 2023 statistical codes, WTFPL upstream;
see `data/README.md`). A county belongs to a city by its first four digits, so codes retired
since (兖州市 370882, 定陶县 371727, 济宁市中区 370802) still find their city: old ID numbers
keep the address code they were issued with, and must not be rejected for it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

__all__ = [
    "CITIES",
    "HEZE",
    "JINING",
    "LINYI",
    "PROVINCE",
    "RETIRED",
    "ZAOZHUANG",
    "Division",
    "Retired",
    "city_name",
    "city_of",
    "counties",
    "county_name",
    "division",
    "is_county_code",
]

PROVINCE = "370000"  # 山东省
LINYI, ZAOZHUANG, JINING, HEZE = "371300", "370400", "370800", "371700"

# The members in the order the source names them (FACTS.md: 临沂、枣庄、济宁、菏泽).
CITIES: dict[str, str] = {
    LINYI: "临沂市",
    ZAOZHUANG: "枣庄市",
    JINING: "济宁市",
    HEZE: "菏泽市",
}

_DATA_FILE = "shandong-4cities-divisions.csv"


@dataclass(frozen=True)
class Division:
    """A row of the division table: a member city or one of its county-level divisions."""

    code: str  # 6 digits
    name: str
    level: Literal["city", "county"]
    city: str  # the city's 6-digit code (its own code for a city)
    in_gbt2260: bool  # False for NBS-only development zones, never an ID card's address code


@dataclass(frozen=True)
class Retired:
    """A county-level code no longer in use, which old ID numbers still carry."""

    code: str
    name: str
    successor: str  # the code that took its place
    year: int  # the year of the change


# From the shared data's README (caveats): codes that appear in ID numbers issued before the
# change. Not exhaustive; `city_of` works by prefix, so a code missing here is still placed.
RETIRED: dict[str, Retired] = {
    r.code: r
    for r in (
        Retired("370882", "兖州市", "370812", 2013),
        Retired("370802", "市中区", "370811", 2013),  # 济宁市中区, merged into 任城区
        Retired("371727", "定陶县", "371703", 2016),
    )
}


@cache
def _table() -> dict[str, Division]:
    text = resources.files("lunan.apps").joinpath("data", _DATA_FILE).read_text(encoding="utf-8")
    table: dict[str, Division] = {}
    for row in csv.DictReader(io.StringIO(text)):
        level = row["level"]
        if level == "province":
            continue
        if level not in ("city", "county"):
            raise ValueError(f"区划数据的级别“{level}”未知 unknown level '{level}' in {_DATA_FILE}")
        code = row["code"]
        table[code] = Division(
            code=code,
            name=row["name"],
            level="city" if level == "city" else "county",
            city=code if level == "city" else row["parent_code"],
            in_gbt2260=row["in_gbt2260"] == "yes",
        )
    return table


def is_county_code(code: str) -> bool:
    """Six digits, not ending in 00 (which marks a province or a city)."""
    return len(code) == 6 and code.isascii() and code.isdigit() and not code.endswith("00")


def city_of(region_code: str) -> str | None:
    """The member city (6-digit code) a division code lies in, by its first four digits.

    Works for current, retired and unknown codes alike (370882 → 370800); a member city's own
    code gives itself. None for anything outside the four cities or not 6 digits.
    """
    if len(region_code) != 6 or not region_code.isascii() or not region_code.isdigit():
        return None
    city = region_code[:4] + "00"
    return city if city in CITIES else None


def city_name(code: str) -> str | None:
    """The name of the member city a code lies in: city_name("370881") == "济宁市"."""
    city = city_of(code)
    return CITIES[city] if city else None


def division(code: str) -> Division | None:
    """The table's row for a city or county code in use (NBS 2023), or None."""
    return _table().get(code)


def county_name(code: str) -> str | None:
    """The name of a county-level code of the four cities, current or retired; else None."""
    d = _table().get(code)
    if d is not None and d.level == "county":
        return d.name
    retired = RETIRED.get(code)
    return retired.name if retired else None


def counties(city: str, *, gbt2260_only: bool = True) -> tuple[Division, ...]:
    """The county-level divisions of a member city in code order.

    By default only GB/T 2260 codes, the ones that can be an address (户籍) or an ID card's
    address code; `gbt2260_only=False` adds the NBS-only development zones.
    """
    if city not in CITIES:
        raise ValueError(
            f"“{city}”不是成员市代码（应为{'、'.join(CITIES)}之一） '{city}' is not a member "
            f"city code (one of {', '.join(CITIES)})"
        )
    return tuple(
        d
        for d in sorted(_table().values(), key=lambda d: d.code)
        if d.level == "county" and d.city == city and (d.in_gbt2260 or not gbt2260_only)
    )
