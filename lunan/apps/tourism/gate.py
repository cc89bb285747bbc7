"""The ticket gate (旅游同城化): what a visitor pays at an attraction, and why.

A resident of any of the four member cities pays the local price (lunan.apps.tourism.registry).
Whether the visitor is one is asked of the city that keeps the registry, and nothing but 是/否
comes back:

- the ID number is validated first (GB 11643 check character); an invalid one is a 422 that
  says what is wrong and never repeats the number;
- the city the visitor names is asked; otherwise the members are asked in turn — the city of
  the ID's address code first (most people still live where their number was issued), then
  this node's own city (a local lookup, no network), then the others — stopping at the first
  是. Asking in turn rather than all at once sends the number to as few cities as possible;
- this node's own city is looked up through its own resident dataset's adapter: no exchange and
  no event. Another city is asked through the exchange, on this node's active agreement for
  that city's `resident-check` service; the exchange logs the call, the gate logs nothing;
- a member that is down, too slow or refuses leaves the visitor unverified: the full price, with
  `checked=False` and a reason naming the city that could not be asked. Never a 500, never a
  guess (the registry's `quote` gives the full price to anyone not confirmed).

A node's gate is the gate of its own city's attractions: `check` refuses an attraction of
another city (`AttractionElsewhere`, a 422 naming that city) before anything is asked, since
that city's own node runs its gates. An unknown attraction is a plain 422 (`Invalid`).

`decide` is the rule with the asking passed in as a function (tests call it without a network);
`check` wires it to a node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from lunan.apps.divisions import CITIES, city_of
from lunan.apps.ids import IdNumberError, parse_resident_id
from lunan.apps.tourism.registry import UnknownCode, attraction, quote
from lunan.events.errors import Invalid
from lunan.exchange import adapters, client
from lunan.services import NodeParts
from lunan.sharing import queries
from lunan.sharing.queries import DatasetView

__all__ = [
    "DEFAULT_TIMEOUT",
    "GATE_ACTOR",
    "RESIDENT_SERVICE",
    "Answer",
    "Ask",
    "Asked",
    "AttractionElsewhere",
    "Check",
    "CouldNotAsk",
    "check",
    "city_label",
    "decide",
    "members_of",
    "node_asker",
    "order",
]

RESIDENT_SERVICE = "resident-check"  # the exchange service of the 户籍/居住证 核验 entry
GATE_ACTOR = "lunan tourism gate"  # who asks when no user is named (pseudonymised by exchange)
DEFAULT_TIMEOUT = 3.0  # seconds per member: a queue at the gate waits at most this per city

Answer = Literal["是", "否"]

_log = logging.getLogger(__name__)


class AttractionElsewhere(Invalid):
    """The attraction is in another city than this node's: its own city's node checks its
    visitors. `city` is the attraction's city code."""

    slug = "attraction-not-in-this-city"
    title = "景点不在本市 Attraction not in this city"

    def __init__(self, attraction_code: str, city: str, own_city: str) -> None:
        a = attraction(attraction_code)
        name, own = city_label(city), city_label(own_city)
        super().__init__(
            f"景点“{a.name}”（{a.code}）在{name}，不在本节点所在的{own}：请在{name}的节点核验 "
            f"the attraction {a.name} ({a.code}) is in {name} ({city}), not in this node's city "
            f"{own} ({own_city}): check its visitors on {name}'s node",
            field="attraction",
        )
        self.city = city


class CouldNotAsk(Exception):
    """A member could not be asked; the message (zh-CN, then English) says why and names the
    city, and holds no personal data: it reaches the gate's screen."""


# (city code, normalised ID number) -> 是/否; raises CouldNotAsk.
Ask = Callable[[str, str], Answer]


@dataclass(frozen=True)
class Asked:
    """One member asked: its answer, or (answer None) why it could not be asked."""

    city: str
    answer: Answer | None
    problem: str | None = None


@dataclass(frozen=True)
class Check:
    """The gate's verdict. `checked` is False when a member that might have said 是 could not
    be asked; the price is then the full price and `reason` names that member."""

    attraction: str
    price: int  # whole 元
    local: bool
    checked: bool
    reason: str  # zh-CN first, English after
    resident_city: str | None  # the member that said 是
    asked: tuple[Asked, ...] = ()


def city_label(city: str) -> str:
    """ "枣庄市" for a member city's code; the code itself otherwise."""
    return CITIES.get(city, city)


def order(members: Sequence[str], own_city: str, region_city: str | None) -> list[str]:
    """Whom to ask, in turn: the ID's region city (if a member), this node's city, the rest."""
    first = [c for c in (region_city, own_city) if c is not None and c in members]
    return list(dict.fromkeys([*first, *members]))


def decide(
    attraction_code: str,
    id_number: str,
    members: Sequence[str],
    own_city: str,
    ask: Ask,
    city: str | None = None,
    *,
    today: date | None = None,
) -> Check:
    """The price for this visitor at this attraction, asking members through `ask`.

    Raises Invalid (422) for an unknown attraction, an invalid ID number (the message says what
    is wrong without the number) or a named city that is not a member.
    """
    try:
        attraction(attraction_code)
    except UnknownCode as e:
        raise Invalid(str(e), field="attraction") from None
    try:
        number = parse_resident_id(id_number, today=today).number
    except IdNumberError as e:
        raise Invalid(f"身份证号无效：{e}", field="id_number") from None
    if city is not None and city not in members:
        raise Invalid(
            f"“{city}”不是鲁南经济圈成员市 '{city}' is not a member city ({', '.join(members)})",
            field="city",
        )
    cities = [city] if city is not None else order(members, own_city, city_of(number[:6]))
    asked: list[Asked] = []
    for c in cities:
        try:
            answer = ask(c, number)
        except CouldNotAsk as e:
            asked.append(Asked(c, None, str(e)))
            continue
        asked.append(Asked(c, answer))
        if answer == "是":
            q = quote(attraction_code, c)
            return Check(q.attraction, q.price, True, True, q.reason, c, tuple(asked))
    full = quote(attraction_code, None)
    return Check(full.attraction, full.price, False, *_not_local(asked, city), None, tuple(asked))


def _not_local(asked: Sequence[Asked], named: str | None) -> tuple[bool, str]:
    """(checked, reason) for a visitor no member confirmed."""
    failed = [a for a in asked if a.answer is None]
    if failed:
        names = "、".join(city_label(a.city) for a in failed)
        why = "；".join(a.problem or "" for a in failed)
        return False, (
            f"未能向{names}核验，按全价（不作推测） could not check with {names}, so the full "
            f"price applies (no guessing): {why}"
        )
    if named is not None:
        name = city_label(named)
        return True, (f"经{name}核验，非{name}居民，按全价 {name} has no such resident: full price")
    return True, (
        "经各成员市核验，非鲁南经济圈居民，按全价 no member city has this resident: full price"
    )


# --- on a node ---------------------------------------------------------------------------------


def members_of(parts: NodeParts) -> list[str]:
    """The member cities this node knows: its own first, then the alliance's order."""
    return list(parts.projector.logs)


def check(
    parts: NodeParts,
    attraction_code: str,
    id_number: str,
    city: str | None = None,
    *,
    actor_id: str = GATE_ACTOR,
    timeout: float = DEFAULT_TIMEOUT,
) -> Check:
    """The gate's check on this node (see the module doc); `actor_id` is the gate's user, whom
    the exchange records only as a salted hash.

    Raises AttractionElsewhere (422) for an attraction of another city, before the ID number is
    looked at or anyone is asked; otherwise as `decide`.
    """
    own = parts.config.city
    try:
        found = attraction(attraction_code)
    except UnknownCode as e:
        raise Invalid(str(e), field="attraction") from None
    if found.city != own:
        raise AttractionElsewhere(found.code, found.city, own)
    ask = node_asker(parts, actor_id, timeout)
    return decide(attraction_code, id_number, members_of(parts), own, ask, city)


def node_asker(parts: NodeParts, actor_id: str, timeout: float) -> Ask:
    """Ask this node's own registry locally and other members through the exchange."""

    def ask(city: str, number: str) -> Answer:
        if city == parts.config.city:
            return _ask_own_registry(parts, number)
        return _ask_member(parts, city, number, actor_id, timeout)

    return ask


def _key_field(dataset: DatasetView) -> str | None:
    """The key a resident check is asked by: the key field holding resident ID numbers."""
    for key in dataset.keys:
        f = dataset.field(key)
        if f is not None and f.type == "resident_id":
            return key
    return None


def _ask_own_registry(parts: NodeParts, number: str) -> Answer:
    """This city's own residents: its `resident-check` entry's adapter, read in place."""
    engine = parts.projector.engine
    own = city_label(parts.config.city)
    dataset = queries.dataset_by_service(engine, parts.config.city, RESIDENT_SERVICE)
    config = adapters.get_config(engine, RESIDENT_SERVICE)
    key = None if dataset is None else _key_field(dataset)
    if dataset is None or dataset.status != "published" or key is None or config is None:
        raise CouldNotAsk(
            f"本市（{own}）未发布或未配置户籍核验服务 this city ({own}) has not published or "
            f"configured its {RESIDENT_SERVICE} service"
        )
    try:
        # The imported rows are indexed by the entry's first key, as the exchange reads them.
        adapter = adapters.build(engine, config, dataset.code, dataset.keys[0])
        rows = adapter.fetch({key: number}, [key], {}, 1)
    except Exception as e:  # a city's own adapter may raise anything: never a 500 at the gate
        _log.warning("tourism gate: own resident registry failed (%s)", type(e).__name__)
        raise CouldNotAsk(
            f"本市（{own}）户籍数据源不可用 this city's ({own}) resident data source failed"
        ) from None
    return "是" if rows else "否"


def _ask_member(parts: NodeParts, city: str, number: str, actor_id: str, timeout: float) -> Answer:
    """Another member's residents, through the exchange on this node's active agreement."""
    name = city_label(city)
    engine = parts.projector.engine
    agreement = queries.active_agreement(engine, parts.config.city, city, RESIDENT_SERVICE)
    key = None if agreement is None else _key_field(agreement.dataset)
    if agreement is None or key is None:
        raise CouldNotAsk(
            f"本市与{name}没有生效的户籍核验协议 no active {RESIDENT_SERVICE} agreement with {name}"
        )
    try:
        result = client.call(
            parts, actor_id, agreement.id, {key: number}, agreement.purpose, timeout=timeout
        )
    except client.ExchangeUnavailable:
        raise CouldNotAsk(
            f"{name}节点无法连接、超时或答复未通过验证 {name}'s node could not be reached in "
            "time, or its answer did not verify"
        ) from None
    except Exception as e:  # whatever else goes wrong, the gate answers: full price, unchecked
        # The type only: a message could quote the request, and so the ID number.
        _log.warning("tourism gate: asking %s failed (%s)", city, type(e).__name__)
        raise CouldNotAsk(f"向{name}核验时出错 checking with {name} failed") from None
    if result.status == 200 and result.answer in ("是", "否"):
        return "是" if result.answer == "是" else "否"
    slug = str((result.problem or {}).get("type", f"HTTP {result.status}")).rsplit(":", 1)[-1]
    raise CouldNotAsk(f"{name}节点未予核验（{slug}） {name}'s node did not check ({slug})")
