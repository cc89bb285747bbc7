"""Event types: for each, the body's schema, the kind of object it changes and who may."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from lunan.events.context import Apply


class Scope(StrEnum):
    OWN = "own"  # the city in the object id owns it: only its log may change it
    ALLIANCE = "alliance"  # alliance-wide: only the current chair's log may change it


class Rejected(Exception):
    """An event that breaks a rule: recorded with its reason, never applied."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class EventType:
    name: str
    kind: str  # the object kind, the first part of the object id
    body: type[BaseModel]
    apply: Callable[[Apply, Any], None]
    scope: Scope = Scope.OWN
    creates: bool = False  # the object must not exist yet; applying creates it
    label: str = ""  # zh-CN, for pages

    def parse_body(self, body: dict[str, Any]) -> BaseModel:
        try:
            return self.body.model_validate(body, strict=False)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise Rejected("invalid-body", f"{where}: {first['msg']}") from e


class Registry:
    def __init__(self, types: Iterable[EventType] = ()) -> None:
        self._types: dict[str, EventType] = {}
        for t in types:
            self.add(t)

    def add(self, event_type: EventType) -> None:
        if event_type.name in self._types:
            raise ValueError(f"event type {event_type.name} is registered twice")
        self._types[event_type.name] = event_type

    def get(self, name: str) -> EventType | None:
        return self._types.get(name)

    def __iter__(self) -> Any:
        return iter(self._types.values())
