"""Sign-in sessions, on every database backend: lookups, timeouts, and what ends them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, Table, func, select

from lunan.auth import sessions, users
from lunan.auth.users import AuthError, User
from lunan.storage.schema import auth_sessions

# The `set_age` fixture (conftest.py): pretend a timestamp column was written that long ago.
SetAge = Callable[[Table, str, timedelta], None]
PASSWORD = "first-password"


@pytest.fixture
def officer(engine: Engine) -> User:
    return users.add_user(engine, "371300", "wang.fang", "officer", PASSWORD)[0]


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        n: int = conn.execute(select(func.count()).select_from(auth_sessions)).scalar_one()
    return n


def test_a_session_carries_its_user_and_csrf_token(engine: Engine, officer: User) -> None:
    session_id, csrf = sessions.create_session(engine, officer)
    assert sessions.user_for_session(engine, session_id) == officer
    assert sessions.csrf_token(engine, session_id) == csrf
    assert csrf != session_id and len(session_id) >= 43 and len(csrf) >= 43
    other_id, other_csrf = sessions.create_session(engine, officer)
    assert (other_id, other_csrf) != (session_id, csrf)


def test_only_the_sha256_of_a_session_id_is_stored(engine: Engine, officer: User) -> None:
    session_id, _ = sessions.create_session(engine, officer)
    with engine.connect() as conn:
        stored = conn.execute(select(auth_sessions.c.id_hash)).scalar_one()
    assert bytes(stored) == hashlib.sha256(session_id.encode()).digest()


@pytest.mark.parametrize("presented", ["", "unknown", "x" * 1000])
def test_an_unknown_session_is_nobody(engine: Engine, officer: User, presented: str) -> None:
    sessions.create_session(engine, officer)
    assert sessions.user_for_session(engine, presented) is None
    assert sessions.csrf_token(engine, presented) is None


def test_signing_out_ends_the_session(engine: Engine, officer: User) -> None:
    session_id, _ = sessions.create_session(engine, officer)
    sessions.end_session(engine, session_id)
    assert sessions.user_for_session(engine, session_id) is None
    sessions.end_session(engine, session_id)  # again: no harm
    assert count(engine) == 0


def test_a_session_idle_too_long_ends(engine: Engine, officer: User, set_age: SetAge) -> None:
    session_id, _ = sessions.create_session(engine, officer)
    set_age(auth_sessions, "last_seen_at", sessions.IDLE_TIMEOUT + timedelta(minutes=1))
    assert sessions.user_for_session(engine, session_id) is None
    assert count(engine) == 0


def test_using_a_session_keeps_it_alive(engine: Engine, officer: User, set_age: SetAge) -> None:
    session_id, _ = sessions.create_session(engine, officer)
    set_age(auth_sessions, "last_seen_at", sessions.IDLE_TIMEOUT - timedelta(minutes=1))
    assert sessions.user_for_session(engine, session_id) == officer
    set_age(auth_sessions, "created_at", timedelta(hours=1))
    with engine.connect() as conn:
        created, seen = conn.execute(
            select(auth_sessions.c.created_at, auth_sessions.c.last_seen_at)
        ).one()
    assert seen > created  # touched just now, not 8 hours ago


def test_a_session_ends_a_week_after_sign_in_however_busy(
    engine: Engine, officer: User, set_age: SetAge
) -> None:
    session_id, _ = sessions.create_session(engine, officer)
    set_age(auth_sessions, "created_at", sessions.ABSOLUTE_TIMEOUT + timedelta(minutes=1))
    assert sessions.user_for_session(engine, session_id) is None


def test_the_timeouts_can_be_configured(
    engine: Engine, officer: User, monkeypatch: pytest.MonkeyPatch, set_age: SetAge
) -> None:
    session_id, _ = sessions.create_session(engine, officer)
    set_age(auth_sessions, "last_seen_at", timedelta(minutes=20))
    assert sessions.user_for_session(engine, session_id) == officer
    monkeypatch.setattr(sessions, "IDLE_TIMEOUT", timedelta(minutes=15))
    set_age(auth_sessions, "last_seen_at", timedelta(minutes=20))
    assert sessions.user_for_session(engine, session_id) is None


def test_signing_in_forgets_sessions_nobody_can_use(
    engine: Engine, officer: User, set_age: SetAge
) -> None:
    for _ in range(3):
        sessions.create_session(engine, officer)
    set_age(auth_sessions, "last_seen_at", sessions.IDLE_TIMEOUT + timedelta(minutes=1))
    sessions.create_session(engine, officer)
    assert count(engine) == 1


def test_disabling_the_user_ends_its_sessions(engine: Engine, officer: User) -> None:
    session_id, _ = sessions.create_session(engine, officer)
    disabled = users.disable_user(engine, "wang.fang")
    assert sessions.user_for_session(engine, session_id) is None
    assert count(engine) == 0
    with pytest.raises(AuthError, match="disabled"):
        sessions.create_session(engine, disabled)


def test_a_new_password_ends_every_session_of_the_user(engine: Engine, officer: User) -> None:
    other = users.add_user(engine, "371300", "li.lei", "viewer")[0]
    kept, _ = sessions.create_session(engine, other)
    first, _ = sessions.create_session(engine, officer)
    users.change_password(engine, "wang.fang", PASSWORD, "second-password")
    assert sessions.user_for_session(engine, first) is None
    second, _ = sessions.create_session(engine, officer)
    users.reset_password(engine, "wang.fang")
    assert sessions.user_for_session(engine, second) is None
    assert sessions.user_for_session(engine, kept) == other
