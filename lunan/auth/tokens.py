"""API tokens: how systems (not people at a browser) act as a user.

A token is ``lnt_`` followed by 43 URL-safe characters (32 random bytes), sent as
``Authorization: Bearer lnt_…``. The node keeps only its SHA-256: a copy of the database does
not let anyone call the API. Tokens of a disabled user stop working at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select, update

from lunan.auth import times
from lunan.auth.users import (
    USER_COLUMNS,
    AuthError,
    DisabledUser,
    User,
    one_line,
    user_from_row,
    user_row,
)
from lunan.storage.schema import api_tokens, users

PREFIX = "lnt_"  # lets secret scanners and people recognise a leaked token
_TOKEN_BYTES = 32
_MAX_LENGTH = 128  # a real token has 47 characters; do not hash megabytes of junk


class UnknownToken(AuthError):
    pass


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token itself, which only its maker saw."""

    id: int
    user: str
    label: str
    created_at: str
    last_used_at: str | None


def _digest(token: str) -> bytes:
    # A plain hash, not argon2: the token is 256 random bits, there is nothing to guess.
    return hashlib.sha256(token.encode()).digest()


def _info(row: Any) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.label, row.created_at, row.last_used_at)


def issue_token(engine: Engine, user_name: str, label: str = "") -> tuple[str, TokenInfo]:
    """A new token for an enabled user, with what `list_tokens` will show of it."""
    label = one_line(label, "token label")
    token = PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    now = times.stamp(times.now())
    with engine.begin() as conn:
        owner = user_row(conn, user_name)
        if owner.disabled:
            raise DisabledUser(f"user {owner.name!r} is disabled: its tokens would not work")
        result = conn.execute(
            insert(api_tokens).values(
                user_id=owner.id, token_hash=_digest(token), label=label, created_at=now
            )
        )
    assert result.inserted_primary_key is not None
    return token, TokenInfo(result.inserted_primary_key[0], owner.name, label, now, None)


def create_token(engine: Engine, user_name: str, label: str = "") -> str:
    return issue_token(engine, user_name, label)[0]


def list_tokens(engine: Engine, user_name: str) -> list[TokenInfo]:
    with engine.connect() as conn:
        owner = user_row(conn, user_name)
        rows = conn.execute(
            select(
                api_tokens.c.id,
                users.c.name,
                api_tokens.c.label,
                api_tokens.c.created_at,
                api_tokens.c.last_used_at,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.user_id == owner.id)
            .order_by(api_tokens.c.id)
        ).all()
    return [_info(r) for r in rows]


def revoke_token(engine: Engine, token_id: int, user_name: str | None = None) -> None:
    """Delete a token at once; with `user_name`, only if it is that user's."""
    condition = api_tokens.c.id == token_id
    with engine.begin() as conn:
        if user_name is not None:
            condition &= api_tokens.c.user_id == user_row(conn, user_name).id
        if conn.execute(delete(api_tokens).where(condition)).rowcount == 0:
            whose = "" if user_name is None else f" of user {user_name!r}"
            raise UnknownToken(f"no API token {token_id}{whose}: see `lunan token list`")


# Every API call with a token runs this: built once, the hash bound at execution.
_BY_TOKEN = (
    select(*USER_COLUMNS, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
    .join(users, users.c.id == api_tokens.c.user_id)
    .where(api_tokens.c.token_hash == bindparam("token_hash"))
)


def user_for_token(engine: Engine, token: str) -> User | None:
    """The enabled user a token belongs to, or None; notes when the token was last used."""
    if not token.startswith(PREFIX) or len(token) > _MAX_LENGTH:
        return None
    with engine.connect() as conn:
        row = conn.execute(_BY_TOKEN, {"token_hash": _digest(token)}).first()
    if row is None or row.disabled:
        return None
    moment = times.now()
    if times.older_than(row.last_used_at, times.TOUCH_INTERVAL, moment):
        with engine.begin() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == row.token_id)
                .values(last_used_at=times.stamp(moment))
            )
    return user_from_row(row)
