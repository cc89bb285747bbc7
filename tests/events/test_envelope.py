"""The event envelope: canonical JSON in, the same bytes out; anything else named and refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunan.crypto.canonical_json import canonical_json
from lunan.events.envelope import EnvelopeError, Event, ObjectId, decode, encode

EVENT = Event(
    type="coop.task.created",
    alliance="lunan",
    origin="371300",
    time="2021-05-13T10:00:00.000+08:00",
    actor={"user": "linyi-admin", "role": "admin", "city": "371300"},
    object="task/371300/7",
    deps=(("370400", 118),),
    body={"title": "示例数据"},
)


def test_an_event_round_trips_through_its_canonical_bytes() -> None:
    data = encode(EVENT)
    assert data == canonical_json(json.loads(data))
    assert decode(data) == EVENT
    assert data.startswith(b'{"actor":')  # RFC 8785 orders keys


@given(
    body=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.integers(-(2**53) + 1, 2**53 - 1), st.text(max_size=20), st.booleans()),
        max_size=5,
    ),
    deps=st.lists(st.tuples(st.sampled_from(["370400", "370800"]), st.integers(0, 10**6))),
)
def test_any_valid_event_decodes_to_itself(
    body: dict[str, object], deps: list[tuple[str, int]]
) -> None:
    event = Event(**{**EVENT.__dict__, "body": body, "deps": tuple(deps)})
    assert decode(encode(event)) == event


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"v": 2}, "version"),
        ({"type": "Task"}, "dotted lower case"),
        ({"origin": "3713"}, "6-digit"),
        ({"object": "task 7"}, "kind/city"),
        ({"time": "2021-05-13T10:00:00"}, "no UTC offset"),
        ({"time": "yesterday"}, "ISO 8601"),
        ({"deps": [["370400", -1]]}, "deps"),
        ({"deps": [["370400"]]}, "deps"),
        ({"body": []}, "body must be an object"),
        ({"extra": 1}, "exactly the fields"),
    ],
)
def test_a_malformed_envelope_is_refused_with_the_reason(
    change: dict[str, object], message: str
) -> None:
    raw = {**EVENT.to_json(), **change}
    with pytest.raises(EnvelopeError, match=message):
        decode(canonical_json(raw))


def test_bytes_that_are_not_canonical_are_refused() -> None:
    pretty = json.dumps(EVENT.to_json(), ensure_ascii=False, indent=1).encode()
    with pytest.raises(EnvelopeError, match="canonical"):
        decode(pretty)


def test_non_json_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="not JSON"):
        decode(b"\xff\x00")


def test_object_ids_name_kind_owner_and_local_id() -> None:
    assert ObjectId.parse("task/371300/7") == ObjectId("task", "371300", "7")
    assert str(ObjectId.parse("node/370400")) == "node/370400"
    with pytest.raises(EnvelopeError):
        ObjectId.parse("task/37130/7")
