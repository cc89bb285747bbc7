"""The event envelope (DESIGN §3.1): what every log entry of an alliance node is.

    {"v":1, "type":"coop.task.created", "alliance":"lunan", "origin":"371300",
     "time":"2021-05-13T10:00:00.000+08:00", "actor":{…}, "object":"task/371300/7",
     "deps":[["370400",118]], "body":{…}}

The entry is the canonical JSON (RFC 8785) of the envelope, and nothing else: an entry that does
not re-encode to the same bytes is refused, so that every node reads every event the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lunan.crypto.canonical_json import canonical_json

VERSION = 1
_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_CITY = re.compile(r"^\d{6}$")
# kind/owner-city[/local-id], e.g. task/371300/7, or node/371300 for one-of-a-kind objects
_OBJECT = re.compile(r"^([a-z][a-z0-9_-]*)/(\d{6})(?:/([A-Za-z0-9._-]{1,64}))?$")
_FIELDS = ("v", "type", "alliance", "origin", "time", "actor", "object", "deps", "body")


class EnvelopeError(ValueError):
    """An entry that is not a well-formed event; the message says which part is wrong."""


@dataclass(frozen=True)
class ObjectId:
    kind: str
    city: str
    local: str

    @classmethod
    def parse(cls, text: str) -> ObjectId:
        m = _OBJECT.match(text)
        if not m:
            raise EnvelopeError(f"object id {text!r} is not kind/city/id, e.g. task/371300/7")
        return cls(m[1], m[2], m[3] or "")

    def __str__(self) -> str:
        return f"{self.kind}/{self.city}/{self.local}" if self.local else f"{self.kind}/{self.city}"


@dataclass(frozen=True)
class Event:
    type: str
    alliance: str
    origin: str
    time: str
    actor: dict[str, Any]
    object: str
    deps: tuple[tuple[str, int], ...]
    body: dict[str, Any]

    @property
    def object_id(self) -> ObjectId:
        return ObjectId.parse(self.object)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "type": self.type,
            "alliance": self.alliance,
            "origin": self.origin,
            "time": self.time,
            "actor": self.actor,
            "object": self.object,
            "deps": [list(d) for d in self.deps],
            "body": self.body,
        }


def encode(event: Event) -> bytes:
    check(event)
    return canonical_json(event.to_json())


def decode(data: bytes) -> Event:
    """The event an entry holds, or EnvelopeError saying why the entry is not one."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EnvelopeError(f"not JSON: {e}") from e
    if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
        have = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise EnvelopeError(f"an event has exactly the fields {list(_FIELDS)}, not {have}")
    if raw["v"] != VERSION or isinstance(raw["v"], bool):
        raise EnvelopeError(f"envelope version {raw['v']!r} is not {VERSION}")
    deps = raw["deps"]
    if not isinstance(deps, list) or not all(
        isinstance(d, list) and len(d) == 2 and isinstance(d[0], str) and _is_index(d[1])
        for d in deps
    ):
        raise EnvelopeError('deps must be a list of ["city", index] pairs')
    for name in ("type", "alliance", "origin", "time", "object"):
        if not isinstance(raw[name], str):
            raise EnvelopeError(f"{name} must be a string")
    for name in ("actor", "body"):
        if not isinstance(raw[name], dict):
            raise EnvelopeError(f"{name} must be an object")
    event = Event(
        type=raw["type"],
        alliance=raw["alliance"],
        origin=raw["origin"],
        time=raw["time"],
        actor=raw["actor"],
        object=raw["object"],
        deps=tuple((d[0], d[1]) for d in deps),
        body=raw["body"],
    )
    check(event)
    if canonical_json(event.to_json()) != data:
        raise EnvelopeError("the entry is not in canonical JSON (RFC 8785)")
    return event


def check(event: Event) -> None:
    if not _TYPE.match(event.type):
        raise EnvelopeError(f"event type {event.type!r} is not dotted lower case")
    if not _CITY.match(event.origin):
        raise EnvelopeError(f"origin {event.origin!r} is not a 6-digit city code")
    ObjectId.parse(event.object)
    try:
        when = datetime.fromisoformat(event.time)
    except ValueError as e:
        raise EnvelopeError(f"time {event.time!r} is not ISO 8601") from e
    if when.tzinfo is None:
        raise EnvelopeError(f"time {event.time!r} has no UTC offset")
    for city, index in event.deps:
        if not _CITY.match(city) or not _is_index(index):
            raise EnvelopeError(f"dependency {[city, index]!r} is not [city code, index]")


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53
