"""The working-day calendar (工作日历) deadlines are counted in: the known years, and the chair's
publication of a year.

Reads need any signed-in user (Permission.READ). A year is published by an administrator of the
chair city on its own node (403 for anyone else, 422 for a bad calendar); the write is
lunan.calendar.actions.publish_year.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import require
from lunan.calendar import actions, queries
from lunan.calendar.actions import Status
from lunan.calendar.events import FIRST_YEAR, LAST_YEAR
from lunan.events.errors import Invalid
from lunan.web.api.common import node_parts as _parts

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])

Reader = Annotated[User, Depends(require(Permission.READ))]
YearPath = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="e.g. 2027")]
YearQuery = Annotated[
    int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="only this year, if known")
]


class CalendarBody(BaseModel):
    """A year's calendar; the year is the path's (a `year` here must be the same)."""

    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(default=None, description="optional: the path's year")
    holidays: list[str] = Field(description="every day off, YYYY-MM-DD, at least one")
    working_weekends: list[str] = Field(
        default_factory=list, description="Saturdays and Sundays worked instead, YYYY-MM-DD"
    )
    source: str = Field(description="the notice, e.g. 国务院办公厅关于2027年部分节假日安排的通知")


class Written(BaseModel):
    status: Status = Field(description="published | replaced (a correction) | unchanged")
    object: str
    calendar: queries.YearView


@router.get("")
def list_years(request: Request, _user: Reader, year: YearQuery = None) -> list[queries.YearView]:
    """The known years, built in or published by the chair (any other year counts Monday to
    Friday only: deadlines reaching into it are estimates)."""
    return queries.years(_parts(request).projector.engine, year)


@router.put("/{year}")
def publish(request: Request, user: Reader, year: YearPath, body: CalendarBody) -> Written:
    """Publish or correct a year's calendar (an administrator of the chair city)."""
    parts = _parts(request)
    actions.check_publisher(parts, user)
    if body.year is not None and body.year != year:
        raise Invalid(
            f"年份与路径不符 the body's year {body.year} is not the path's {year}", "year"
        )
    data = body.model_dump(exclude={"year"})
    result = actions.publish_year(parts, user, {"year": year, **data})
    [view] = queries.years(parts.projector.engine, year)
    return Written(status=result.status, object=result.object, calendar=view)
