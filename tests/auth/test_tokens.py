"""API tokens, on every database backend."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, Table, func, select

from lunan.auth import tokens, users
from lunan.auth.tokens import UnknownToken
from lunan.auth.users import AuthError, UnknownUser, User
from lunan.storage.schema import api_tokens

# The `set_age` fixture (conftest.py): pretend a timestamp column was written that long ago.
SetAge = Callable[[Table, str, timedelta], None]


@pytest.fixture
def officer(engine: Engine) -> User:
    return users.add_user(engine, "371300", "wang.fang", "officer")[0]


def test_a_token_acts_as_its_user(engine: Engine, officer: User) -> None:
    token = tokens.create_token(engine, "wang.fang", "nightly export")
    assert token.startswith("lnt_") and len(token) == 47
    assert tokens.user_for_token(engine, token) == officer
    assert tokens.create_token(engine, "wang.fang") != token


def test_only_the_sha256_of_a_token_is_stored(engine: Engine, officer: User) -> None:
    token = tokens.create_token(engine, "wang.fang")
    with engine.connect() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
    assert bytes(stored) == hashlib.sha256(token.encode()).digest()


@pytest.mark.parametrize(
    "presented", ["", "lnt_", "lnt_unknown", "Bearer lnt_x", "lnt_" + "a" * 500, "鲁南"]
)
def test_anything_but_a_stored_token_is_nobody(
    engine: Engine, officer: User, presented: str
) -> None:
    tokens.create_token(engine, "wang.fang")
    assert tokens.user_for_token(engine, presented) is None


def test_the_last_use_is_recorded_at_most_once_a_minute(
    engine: Engine, officer: User, set_age: SetAge
) -> None:
    token = tokens.create_token(engine, "wang.fang", "etl")
    [info] = tokens.list_tokens(engine, "wang.fang")
    assert (info.user, info.label, info.last_used_at) == ("wang.fang", "etl", None)
    tokens.user_for_token(engine, token)
    first = tokens.list_tokens(engine, "wang.fang")[0].last_used_at
    assert first is not None and first >= info.created_at
    tokens.user_for_token(engine, token)
    assert tokens.list_tokens(engine, "wang.fang")[0].last_used_at == first
    set_age(api_tokens, "last_used_at", timedelta(minutes=2))
    aged = tokens.list_tokens(engine, "wang.fang")[0].last_used_at
    tokens.user_for_token(engine, token)
    latest = tokens.list_tokens(engine, "wang.fang")[0].last_used_at
    assert aged is not None and latest is not None and latest > aged


def test_a_revoked_token_stops_working(engine: Engine, officer: User) -> None:
    keep = tokens.create_token(engine, "wang.fang", "keep")
    drop = tokens.create_token(engine, "wang.fang", "drop")
    [drop_id] = [t.id for t in tokens.list_tokens(engine, "wang.fang") if t.label == "drop"]
    tokens.revoke_token(engine, drop_id)
    assert tokens.user_for_token(engine, drop) is None
    assert tokens.user_for_token(engine, keep) == officer
    assert [t.label for t in tokens.list_tokens(engine, "wang.fang")] == ["keep"]
    with pytest.raises(UnknownToken, match=f"no API token {drop_id}"):
        tokens.revoke_token(engine, drop_id)


def test_a_user_revokes_only_its_own_tokens(engine: Engine, officer: User) -> None:
    users.add_user(engine, "371300", "li.lei", "viewer")
    theirs = tokens.create_token(engine, "wang.fang")
    [their_id] = [t.id for t in tokens.list_tokens(engine, "wang.fang")]
    with pytest.raises(UnknownToken, match=r"of user 'li\.lei'"):
        tokens.revoke_token(engine, their_id, user_name="li.lei")
    assert tokens.user_for_token(engine, theirs) == officer
    tokens.revoke_token(engine, their_id, user_name="wang.fang")
    assert tokens.user_for_token(engine, theirs) is None


def test_tokens_of_a_disabled_user_stop_working(engine: Engine, officer: User) -> None:
    token = tokens.create_token(engine, "wang.fang")
    users.disable_user(engine, "wang.fang")
    assert tokens.user_for_token(engine, token) is None
    with pytest.raises(AuthError, match="disabled"):
        tokens.create_token(engine, "wang.fang")


def test_tokens_need_a_known_user_and_a_one_line_label(engine: Engine, officer: User) -> None:
    with pytest.raises(UnknownUser):
        tokens.create_token(engine, "nobody")
    with pytest.raises(UnknownUser):
        tokens.list_tokens(engine, "nobody")
    with pytest.raises(AuthError, match="one line"):
        tokens.create_token(engine, "wang.fang", "two\nlines")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(api_tokens)).scalar_one() == 0
