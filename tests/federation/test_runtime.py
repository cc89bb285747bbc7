"""The node's federation loop: rounds follow back to back while a member is caught up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from factories import entries, free_ports, serve_in_thread
from sqlalchemy.exc import OperationalError

from lunan import demo, node
from lunan.federation import follower
from lunan.federation.runtime import Federation, request_signer
from lunan.log import open_log


@pytest.fixture
def two_members(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """临沂's node served (in a thread) with more than one segment of entries; 枣庄's node
    directory, not started. Yields 枣庄's directory and 临沂's log size."""
    (_, linyi_dir, _), (_, zaozhuang_dir, _) = prepared = demo.prepare(
        tmp_path, demo.CITIES[:2], free_ports(2)
    )
    demo.write_alliance(prepared)
    with open_log(linyi_dir) as log:
        size = log.size()
        while size <= follower.SEGMENT:
            batch = entries(size, 8192, size=40)
            size = log.append(batch) + len(batch)
    _, server, thread = serve_in_thread(linyi_dir)
    yield zaozhuang_dir, size
    server.should_exit = True
    thread.join()


@contextmanager
def following(directory: Path, round_share: float) -> Iterator[Federation]:
    """The node's federation as `lunan serve` starts it, giving each member's catch-up
    `round_share` seconds a round."""
    config = node.load_config(directory)
    with open_log(directory) as log:
        fed = Federation.start(directory, config, log, request_signer(directory, config))
        fed.round_share = round_share
        try:
            yield fed
        finally:
            fed.close()


def replicated(fed: Federation) -> int:
    size: int = fed.status()["members"][0]["replicated_size"]
    return size


def test_a_round_takes_a_segment_at_least_and_says_when_a_member_is_still_behind(
    two_members: tuple[Path, int],
) -> None:
    directory, size = two_members
    with following(directory, round_share=0.0) as fed:  # 临沂 holds more than one segment
        assert fed.step(0.0) is True
        assert 0 < replicated(fed) < size
        assert fed.step(0.0) is False
        assert replicated(fed) == size


def test_the_loop_catches_up_without_pausing_between_rounds(
    two_members: tuple[Path, int],
) -> None:
    directory, size = two_members
    with following(directory, round_share=0.0) as fed:
        stop = threading.Event()
        rounds: list[bool] = []
        step = fed.step

        def counted(now: float) -> bool:
            rounds.append(step(now))
            if not rounds[-1]:
                stop.set()
            return rounds[-1]

        fed.step = counted  # type: ignore[method-assign]
        # An interval no test would wait out: the rounds must follow each other at once.
        worker = threading.Thread(target=fed.run, args=(stop, 3600.0))
        worker.start()
        worker.join(timeout=60)
        stop.set()  # a loop that paused after its first round stops here, with one round done
        worker.join()
        assert rounds == [True, False]
        assert replicated(fed) == size


def test_a_round_takes_as_many_segments_as_its_share_of_time_allows(
    two_members: tuple[Path, int],
) -> None:
    directory, size = two_members
    with following(directory, round_share=3600.0) as fed:
        assert fed.step(0.0) is False
        assert replicated(fed) == size


def test_a_database_error_in_a_round_is_a_retry_later_not_the_end_of_the_loop(
    two_members: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a member is stopped is a query: with the database away (a PostgreSQL restart,
    a busy SQLite) the round records the error and the next one tries again."""
    directory, size = two_members

    def database_away(*args: object) -> bool:
        raise OperationalError("SELECT alerts", {}, Exception("database is locked"))

    with following(directory, round_share=3600.0) as fed:
        monkeypatch.setattr(follower, "open_alert", database_away)
        assert fed.step(0.0) is False
        [state] = fed.members
        assert state.failures == 1 and "database is locked" in (state.last_error or "")
        monkeypatch.undo()
        fed.step(state.next_try)
        assert (state.failures, state.last_error, replicated(fed)) == (0, None, size)
