"""The projection engine: owner rule, deps, rejections recorded, rebuild byte for byte."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from factories import CHAIR, FourCities, actor, four_cities
from sqlalchemy import select

from lunan.clock import now_shanghai
from lunan.events.envelope import Event, encode
from lunan.events.registry import Rejected
from lunan.events.tables import p_chairs, p_events

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
TERM = {"term_start": "2022-05-13", "term_end": "2023-05-12"}


def raw(
    city: str, type_: str, obj: str, body: dict[str, object], deps: Sequence[tuple[str, int]] = ()
) -> bytes:
    """An event as a log entry, bypassing the writer's checks (as a faulty node might)."""
    return encode(Event(type_, "lunan", city, now_shanghai(), actor(city), obj, tuple(deps), body))


def outcome(h: FourCities, city: str, idx: int) -> tuple[str, str | None]:
    o = h.projector.outcome(city, idx)
    assert o is not None, f"{city}:{idx} not processed"
    return o.status, o.reason


def test_every_genesis_entry_is_applied(tmp_path: Path, database_url: str) -> None:
    with four_cities(tmp_path, database_url) as h:
        h.projector.catch_up()
        assert h.projector.positions() == {c: 1 for c in h.logs}
        for city in h.logs:
            assert outcome(h, city, 0) == ("applied", None)


def test_the_chair_hands_over_and_the_next_chair_accepts(tmp_path: Path, database_url: str) -> None:
    with four_cities(tmp_path, database_url) as h:
        w = h.writers
        handover = w[CHAIR].append(
            "alliance.chair.handover", "handover/371300/1", {"to": ZAOZHUANG, **TERM}, actor(CHAIR)
        )
        accepted = w[ZAOZHUANG].append(
            "alliance.chair.accepted",
            "acceptance/370400/1",
            {"handover": handover.object},
            actor(ZAOZHUANG),
            w[ZAOZHUANG].deps_for(handover.object),
        )
        assert accepted.idx == 1
        with h.engine.connect() as c:
            chairs = {r.city: r.until_idx for r in c.execute(select(p_chairs))}
        assert chairs == {CHAIR: handover.idx, ZAOZHUANG: None}
        # The old chair can no longer act for the alliance.
        with pytest.raises(Rejected, match="not-chair"):
            w[CHAIR].append(
                "alliance.chair.handover", "handover/371300/2", {"to": JINING, **TERM}, actor(CHAIR)
            )


def test_an_event_that_refers_to_another_log_without_deps_is_rejected(
    tmp_path: Path, database_url: str
) -> None:
    with four_cities(tmp_path, database_url) as h:
        handover = h.writers[CHAIR].append(
            "alliance.chair.handover", "handover/371300/1", {"to": ZAOZHUANG, **TERM}, actor(CHAIR)
        )
        with pytest.raises(Rejected, match="unknown-object"):
            h.writers[ZAOZHUANG].append(
                "alliance.chair.accepted",
                "acceptance/370400/1",
                {"handover": handover.object},
                actor(ZAOZHUANG),
            )
        # Recorded with its reason, visible, and never applied.
        assert outcome(h, ZAOZHUANG, 1) == ("rejected", "unknown-object")
        with h.engine.connect() as c:
            assert c.execute(select(p_chairs.c.city)).scalars().all() == [CHAIR]


def test_only_the_owner_log_changes_an_object(tmp_path: Path, database_url: str) -> None:
    with four_cities(tmp_path, database_url) as h:
        h.logs[JINING].append(
            [raw(JINING, "alliance.chair.handover", "handover/371300/9", {"to": HEZE, **TERM})]
        )
        h.projector.catch_up()
        assert outcome(h, JINING, 1) == ("rejected", "not-owner")


def test_an_event_waits_for_its_deps_and_blocks_its_log_behind_it(
    tmp_path: Path, database_url: str
) -> None:
    with four_cities(tmp_path, database_url) as h:
        # 枣庄 accepts a handover 临沂 has not written yet (as if 临沂's log arrived late).
        h.logs[ZAOZHUANG].append(
            [
                raw(
                    ZAOZHUANG,
                    "alliance.chair.accepted",
                    "acceptance/370400/1",
                    {"handover": "handover/371300/1"},
                    [(CHAIR, 1)],
                ),
                raw(
                    ZAOZHUANG,
                    "alliance.chair.handover",
                    "handover/370400/1",
                    {"to": JINING, **TERM},
                ),
            ]
        )
        h.projector.catch_up()
        assert h.projector.positions()[ZAOZHUANG] == 1
        assert h.projector.state()["waiting"] == {ZAOZHUANG: f"{CHAIR}:1"}
        h.writers[CHAIR].append(
            "alliance.chair.handover", "handover/371300/1", {"to": ZAOZHUANG, **TERM}, actor(CHAIR)
        )
        assert h.projector.positions()[ZAOZHUANG] == 3
        assert outcome(h, ZAOZHUANG, 1) == ("applied", None)
        assert outcome(h, ZAOZHUANG, 2) == ("applied", None)  # as chair, after accepting
        assert h.projector.state()["waiting"] == {}


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (b"not an event", "malformed"),
        (raw(HEZE, "no.such.type", "thing/371700/1", {}), "unknown-type"),
        (
            raw(HEZE, "alliance.chair.accepted", "acceptance/371700/1", {"handover": 7}),
            "invalid-body",
        ),
        (
            raw(HEZE, "alliance.chair.accepted", "handover/371700/1", {"handover": "x"}),
            "wrong-kind",
        ),
        (
            raw(JINING, "alliance.chair.accepted", "acceptance/370800/1", {"handover": "x"}),
            "wrong-origin",
        ),
        (
            raw(
                HEZE,
                "alliance.chair.accepted",
                "acceptance/371700/1",
                {"handover": "x"},
                [("999999", 1)],
            ),
            "unknown-dependency",
        ),
        (
            raw(
                HEZE,
                "alliance.chair.accepted",
                "acceptance/371700/1",
                {"handover": "x"},
                [(HEZE, 5)],
            ),
            "bad-dependency",
        ),
        (
            raw(
                HEZE,
                "node.genesis",
                "node/371700",
                {"name": "x", "url": "x", "log": "x", "vkey": "x"},
            ),
            "exists",
        ),
    ],
    # Named by the reason: an entry holds the time it was made, which differs per xdist worker.
    ids=lambda v: v if isinstance(v, str) else "entry",
)
def test_bad_entries_are_rejected_with_a_stable_reason(
    tmp_path: Path, database_url: str, entry: bytes, reason: str
) -> None:
    with four_cities(tmp_path, database_url) as h:
        h.logs[HEZE].append([entry])
        h.projector.catch_up()
        assert outcome(h, HEZE, 1) == ("rejected", reason)
        assert h.projector.positions()[HEZE] == 2  # a rejected event never blocks the log


def test_rebuild_gives_the_same_state_byte_for_byte(tmp_path: Path, database_url: str) -> None:
    with four_cities(tmp_path, database_url) as h:
        handover = h.writers[CHAIR].append(
            "alliance.chair.handover", "handover/371300/1", {"to": ZAOZHUANG, **TERM}, actor(CHAIR)
        )
        h.writers[ZAOZHUANG].append(
            "alliance.chair.accepted",
            "acceptance/370400/1",
            {"handover": handover.object},
            actor(ZAOZHUANG),
            h.writers[ZAOZHUANG].deps_for(handover.object),
        )
        h.logs[HEZE].append([b"garbage"])
        h.projector.catch_up()
        before = h.projector.dump()
        assert h.projector.rebuild() == 7
        assert h.projector.dump() == before
        with h.engine.connect() as c:
            assert c.execute(select(p_events.c.status)).scalars().all().count("rejected") == 1


def test_new_projection_code_rebuilds_on_open(tmp_path: Path, database_url: str) -> None:
    with four_cities(tmp_path, database_url) as h:
        h.projector.catch_up()
        assert h.projector.ensure() is False  # same code: kept
        with h.engine.begin() as c:
            c.exec_driver_sql("UPDATE p_meta SET value = 'older code'")
        assert h.projector.ensure() is True  # different code: remade empty, to be refolded
        assert h.projector.positions() == {c: 0 for c in h.logs}
        h.projector.catch_up()
        assert h.projector.positions() == {c: 1 for c in h.logs}
