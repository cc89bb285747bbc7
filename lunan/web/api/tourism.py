"""Tourism 同城化: the registry of scenic areas, attractions and red routes, and the ticket gate.

Reads need a signed-in user holding Permission.READ or Permission.TOURISM_CHECK (a gate-only
user, role `gate`, reads the attractions it checks). The gate's check asks other member cities
through the exchange on this node's agreements, so it needs Permission.TOURISM_CHECK and a user
of this node's own city (a ticket office acts for its city only), at an attraction of this
city: another city's attraction is a 422 `attraction-not-in-this-city` naming that city.

The ID number a gate sends is used for the check and forgotten: it is not stored, not logged,
and not repeated in any answer, including a 422 for an invalid number.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from lunan.apps.divisions import CITIES, county_name
from lunan.apps.tourism import gate, registry
from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import CurrentUser, require
from lunan.events.errors import Forbidden, NotFound
from lunan.services import NodeParts
from lunan.web.problems import Problem

router = APIRouter(prefix="/api/v1/apps/tourism", tags=["tourism"])


def registry_reader(user: CurrentUser) -> User:
    """A dependency: a user who may read the registry — anyone with READ, and the gate's users
    (TOURISM_CHECK), who look up the codes of the attractions they check."""
    if user.can(Permission.READ) or user.can(Permission.TOURISM_CHECK):
        return user
    raise Problem(
        403,
        "forbidden",
        "无权操作 Forbidden",
        f"user {user.name!r} ({user.role.value}) lacks the permission "
        f"{Permission.READ.value!r}: ask your node's administrator",
        permission=Permission.READ.value,
    )


Reader = Annotated[User, Depends(registry_reader)]
Gatekeeper = Annotated[User, Depends(require(Permission.TOURISM_CHECK))]
CityQuery = Annotated[
    str | None, Query(pattern=r"^\d{6}$", description="member city code, e.g. 370800")
]


# --- documents ----------------------------------------------------------------------------------


class AttractionOut(BaseModel):
    code: str = Field(examples=["370800-A01"])
    name: str
    area: str
    area_name: str
    city: str
    city_name: str
    county: str
    county_name: str
    full_price: int = Field(description="whole 元; 0 = free")
    local_price: int = Field(description="whole 元: what residents of any member city pay")
    is_red: bool = Field(description="红色旅游")
    sample: bool = Field(description="示例数据: existence or placement invented")
    prices_sample: bool = Field(description="示例数据: the source states no price")
    note: str


class AreaOut(BaseModel):
    code: str = Field(examples=["370800-S01"])
    name: str
    city: str
    city_name: str
    is_red: bool
    sample: bool
    note: str
    attractions: list[str] = Field(description="the area's attraction codes")


class StopOut(BaseModel):
    attraction: str
    name: str
    city: str


class RouteOut(BaseModel):
    code: str = Field(examples=["R01"])
    name: str
    stops: list[StopOut]
    sample: bool
    note: str


class CheckIn(BaseModel):
    """A visitor at the gate. `city`: the member city the visitor says they live in; without
    it the members are asked in turn."""

    model_config = ConfigDict(extra="forbid")

    attraction: str = Field(max_length=32, examples=["370800-A01"])
    # Bounded so nobody sends megabytes; the number itself is checked (and never echoed) by
    # the gate, so a wrong length gets its own clear message rather than a schema error.
    id_number: str = Field(max_length=64, description="身份证号, 18 characters; never stored")
    city: str | None = Field(default=None, pattern=r"^\d{6}$", examples=["371300"])


class AskedOut(BaseModel):
    city: str
    city_name: str
    answer: Literal["是", "否"] | None = Field(description="null: the city could not be asked")
    problem: str | None = Field(description="why the city could not be asked")


class CheckOut(BaseModel):
    attraction: str
    attraction_name: str
    price: int = Field(description="whole 元 to charge")
    local: bool = Field(description="the local (同城化) price applies")
    checked: bool = Field(
        description="false: a member could not be asked, so the full price applies unverified"
    )
    reason: str = Field(description="why, zh-CN first, English after")
    resident_city: str | None = Field(description="the member city that confirmed residence")
    resident_city_name: str | None
    asked: list[AskedOut] = Field(description="the members asked, in order")


def _attraction_out(a: registry.Attraction) -> AttractionOut:
    return AttractionOut(
        code=a.code,
        name=a.name,
        area=a.area,
        area_name=registry.area(a.area).name,
        city=a.city,
        city_name=CITIES[a.city],
        county=a.county,
        county_name=county_name(a.county) or "",
        full_price=a.full_price,
        local_price=a.local_price,
        is_red=a.is_red,
        sample=a.sample,
        prices_sample=a.prices_sample,
        note=a.note,
    )


def _check_out(c: gate.Check) -> CheckOut:
    return CheckOut(
        attraction=c.attraction,
        attraction_name=registry.attraction(c.attraction).name,
        price=c.price,
        local=c.local,
        checked=c.checked,
        reason=c.reason,
        resident_city=c.resident_city,
        resident_city_name=gate.city_label(c.resident_city) if c.resident_city else None,
        asked=[
            AskedOut(
                city=a.city, city_name=gate.city_label(a.city), answer=a.answer, problem=a.problem
            )
            for a in c.asked
        ],
    )


# --- the registry -------------------------------------------------------------------------------


@router.get("/attractions")
def attractions(
    _user: Reader,
    city: CityQuery = None,
    area: Annotated[str | None, Query(max_length=32)] = None,
    red: Annotated[bool | None, Query(description="only red (true) or other (false)")] = None,
) -> list[AttractionOut]:
    """The 67 attractions of the 17 key scenic areas, with full and local prices."""
    return [
        _attraction_out(a)
        for a in registry.ATTRACTIONS
        if (city is None or a.city == city)
        and (area is None or a.area == area)
        and (red is None or a.is_red == red)
    ]


@router.get("/attractions/{code}")
def one_attraction(
    _user: Reader, code: Annotated[str, Path(max_length=32, examples=["370800-A01"])]
) -> AttractionOut:
    try:
        return _attraction_out(registry.attraction(code))
    except registry.UnknownCode as e:
        raise NotFound(str(e)) from None


@router.get("/areas")
def areas(_user: Reader, city: CityQuery = None) -> list[AreaOut]:
    """The 17 key scenic areas (重点景区)."""
    return [
        AreaOut(
            code=a.code,
            name=a.name,
            city=a.city,
            city_name=CITIES[a.city],
            is_red=a.is_red,
            sample=a.sample,
            note=a.note,
            attractions=[t.code for t in registry.ATTRACTIONS if t.area == a.code],
        )
        for a in registry.AREAS
        if city is None or a.city == city
    ]


@router.get("/routes")
def routes(_user: Reader) -> list[RouteOut]:
    """The 6 red tourism boutique routes (红色旅游精品线路), stops in order."""
    return [
        RouteOut(
            code=r.code,
            name=r.name,
            stops=[
                StopOut(
                    attraction=s, name=registry.attraction(s).name, city=registry.attraction(s).city
                )
                for s in r.stops
            ],
            sample=r.sample,
            note=r.note,
        )
        for r in registry.ROUTES
    ]


# --- the gate -----------------------------------------------------------------------------------


@router.post("/check")
def check(request: Request, user: Gatekeeper, body: CheckIn) -> CheckOut:
    """The price to charge this visitor and why (see lunan.apps.tourism.gate).

    422 for an unknown attraction, an attraction of another city (`attraction-not-in-this-city`,
    with that `city`: its own node checks it), an invalid ID number (without repeating it) or a
    city that is not a member; a member that cannot be asked gives the full price with
    `checked: false`. A plain `def`: the exchange calls block, so FastAPI runs this in its
    thread pool.
    """
    parts: NodeParts = request.app.state.parts
    if user.city != parts.config.city:
        raise Forbidden(
            f"用户属于{gate.city_label(user.city)}，只能为本节点所在市"
            f"{gate.city_label(parts.config.city)}的闸机核验 user {user.name!r} belongs to "
            f"{user.city} and cannot check visitors for {parts.config.city}'s gates"
        )
    try:
        result = gate.check(parts, body.attraction, body.id_number, body.city, actor_id=user.name)
    except gate.AttractionElsewhere as e:
        raise Problem(
            e.status, e.slug, e.title, e.message, field="attraction", city=e.city
        ) from None
    return _check_out(result)
