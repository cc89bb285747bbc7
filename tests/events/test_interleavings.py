"""The state is a function of the logs, not of the order their entries arrive in.

Four logs are written once; then the projector is fed them in random interleavings (each log's
own order kept, folding at random moments) and must always end with the same dump.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from factories import CHAIR, FourCities, actor, assert_any_interleaving_folds_the_same, four_cities

from lunan.events.registry import Rejected

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
Deps = Sequence[tuple[str, int]]


def write_scenario(h: FourCities) -> None:
    """Events across all four logs with cross-log deps, including some that are rejected."""
    w = h.writers
    term = {"term_start": "2022-05-13", "term_end": "2023-05-12"}

    def attempt(city: str, type_: str, obj: str, body: dict[str, object], deps: Deps = ()) -> None:
        # A rejected event stays in the log: it is part of what must fold the same everywhere.
        with contextlib.suppress(Rejected):
            w[city].append(type_, obj, body, actor(city), deps)

    attempt(CHAIR, "alliance.chair.handover", "handover/371300/1", {"to": ZAOZHUANG, **term})
    attempt(
        HEZE,
        "alliance.chair.accepted",
        "acceptance/371700/1",
        {"handover": "handover/371300/1"},
        w[HEZE].deps_for("handover/371300/1"),
    )
    attempt(
        JINING, "alliance.chair.accepted", "acceptance/370800/1", {"handover": "handover/371300/1"}
    )
    attempt(
        ZAOZHUANG,
        "alliance.chair.accepted",
        "acceptance/370400/1",
        {"handover": "handover/371300/1"},
        w[ZAOZHUANG].deps_for("handover/371300/1"),
    )
    attempt(CHAIR, "alliance.chair.handover", "handover/371300/2", {"to": JINING, **term})
    attempt(ZAOZHUANG, "alliance.chair.handover", "handover/370400/1", {"to": JINING, **term})
    attempt(
        JINING,
        "alliance.chair.accepted",
        "acceptance/370800/2",
        {"handover": "handover/370400/1"},
        w[JINING].deps_for("handover/370400/1"),
    )
    h.logs[HEZE].append([b"not an event"])
    attempt(JINING, "alliance.chair.handover", "handover/370800/1", {"to": CHAIR, **term})
    attempt(
        CHAIR,
        "alliance.chair.accepted",
        "acceptance/371300/1",
        {"handover": "handover/370800/1"},
        w[CHAIR].deps_for("handover/370800/1"),
    )


def test_any_interleaving_of_the_logs_folds_to_the_same_state(tmp_path: Path) -> None:
    with four_cities(tmp_path) as h:
        write_scenario(h)
        assert_any_interleaving_folds_the_same(h, examples=25, steps=60)
