"""The indicators tests' harness: the four cities with node parts, one node's API with users
of several roles, and the app with the indicators router."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from factories import CITIES, ApiNode, FourCities
from fastapi import FastAPI
from sqlalchemy import Engine

from lunan.indicators import queries
from lunan.services import NodeParts
from lunan.web.app import create_app


@dataclass
class Cities:
    h: FourCities
    parts: dict[str, NodeParts] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return self.h.engine

    def sizes(self) -> dict[str, int]:
        """Each log's size: a refused write leaves them all as they were."""
        return {city: log.size() for city, log in self.h.logs.items()}

    def sets(self, scope: str = "city") -> list[queries.FigureSet]:
        with self.engine.connect() as conn:
            return queries.figure_sets(conn, scope=scope)

    def totals(self, year: int | None = None) -> list[queries.YearTotals]:
        with self.engine.connect() as conn:
            return queries.totals(conn, CITIES, year)


def app_for(directory: Path) -> FastAPI:
    """The node's app, with the indicators router even before the lead wires it in."""
    app = create_app(directory)
    return app


# Users of 临沂's node: name -> (role, city). `stranger` is stored on 临沂's node but belongs to
# 枣庄: whatever it asks, it acts for 枣庄, and 临沂's node must refuse its writes.
USERS = {
    "coord": ("coordinator", "371300"),
    "officer": ("officer", "371300"),
    "viewer": ("viewer", "371300"),
    "auditor": ("auditor", "371300"),
    "stranger": ("coordinator", "370400"),
}


Node = ApiNode
