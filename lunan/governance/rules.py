"""Checks that several governance apply functions share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from lunan.events.context import Apply
from lunan.events.tables import p_positions


def members(ctx: Apply) -> set[str]:
    """The member cities: the logs the projector folds, the same on every node (they come
    from the alliance file, and a change of members rebuilds the projections)."""
    return set(ctx.conn.execute(select(p_positions.c.origin)).scalars())


def require_members(ctx: Apply, cities: Iterable[str | None], what: str) -> None:
    known = members(ctx)
    for city in cities:
        if city is not None and city not in known:
            raise ctx.reject("unknown-city", f"{what} {city} is not a member of the alliance")


def as_json(items: Iterable[BaseModel]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in items]
