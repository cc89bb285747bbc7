"""The calendar's one write: the chair city publishes a year's working-day calendar.

Who may: an administrator (Role.ADMIN) of this node's city, while this city holds the chair;
`user=None` is the operator at the node's console (`lunan calendar publish`), who may do
anything on the node anyway — but the chair rule holds for everyone, since the other nodes
would reject the event (`not-chair`). Every refusal is raised before anything is appended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from lunan.auth.roles import Role
from lunan.auth.users import User
from lunan.calendar import queries
from lunan.calendar.events import KIND, PUBLISHED, YearCalendar
from lunan.events.context import current_chair
from lunan.events.errors import Forbidden, Invalid
from lunan.services import NodeParts, acts_for_this_city

CONSOLE_ACTOR = {"system": "lunan calendar publish"}

Status = Literal["published", "replaced", "unchanged"]


@dataclass(frozen=True)
class Published:
    status: Status  # published: the year's first; replaced: a correction; unchanged: no event
    object: str  # calendar/<chair>/<n>, the publication in force
    year: int


def check_publisher(parts: NodeParts, user: User | None) -> None:
    """Forbidden unless `user` is an administrator of this node's city (or the console)."""
    if user is None:
        return
    if user.disabled or user.role is not Role.ADMIN:
        raise Forbidden(
            f"工作日历由轮值城市的管理员发布，用户 {user.name} 不是管理员 only an administrator "
            f"publishes the calendar; {user.name!r} is {user.role.value}"
        )
    acts_for_this_city(parts, user)


def parse(data: Mapping[str, Any]) -> YearCalendar:
    """The calendar in `data`, or Invalid naming the first field at fault."""
    try:
        return YearCalendar.model_validate(dict(data))
    except ValidationError as e:
        first = e.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        where = path.removeprefix(".") or None  # e.g. holidays[3], as lunan.sharing names it
        message = {
            "missing": f"缺少{where} {where} is missing",
            "extra_forbidden": f"未知字段{where} unknown field {where!r}: a calendar has "
            "year, holidays, working_weekends and source",
        }.get(first["type"], str(first["msg"]).removeprefix("Value error, "))
        raise Invalid(f"{where}: {message}" if where else message, field=where) from e


def publish_year(parts: NodeParts, user: User | None, data: Mapping[str, Any]) -> Published:
    """Publish (or correct) a year's calendar: {year, holidays, working_weekends, source}."""
    check_publisher(parts, user)
    calendar = parse(data)
    city = parts.config.city
    with parts.writer.lock:
        engine = parts.projector.engine
        chair = current_chair(engine)
        if chair != city:
            raise Forbidden(
                f"工作日历由轮值城市（{chair or '交接中'}）发布 only the chair city "
                f"({chair or 'none: the chair is being handed over'}) publishes the calendar"
            )
        found = queries.years(engine, calendar.year)
        current = found[0] if found else None
        replaced = current is not None and current.origin == "published"
        if (
            current is not None
            and current.object is not None
            and replaced
            and tuple(current.holidays) == calendar.holidays
            and tuple(current.working_weekends) == calendar.working_weekends
            and current.source == calendar.source
        ):
            return Published("unchanged", current.object, calendar.year)
        object_id = parts.writer.next_id(KIND)
        actor = CONSOLE_ACTOR if user is None else user.actor()
        parts.writer.append(PUBLISHED, object_id, calendar, actor)
    return Published("replaced" if replaced else "published", object_id, calendar.year)
