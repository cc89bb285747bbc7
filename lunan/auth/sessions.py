"""Sign-in sessions of people at a browser.

The session id is the cookie; the node keeps only its SHA-256, so a copy of the database signs
nobody in. Each session has a CSRF token that pages send back with every change (see
`lunan.auth.web`). A session ends when the user signs out, after `IDLE_TIMEOUT` without use,
`ABSOLUTE_TIMEOUT` after sign-in, or when the user is disabled or its password changes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from lunan.auth import times
from lunan.auth.users import USER_COLUMNS, DisabledUser, User, user_from_row
from lunan.storage.schema import auth_sessions, users

# A working day without a click signs out; so does a week, however busy (read at every call).
IDLE_TIMEOUT = timedelta(hours=8)
ABSOLUTE_TIMEOUT = timedelta(days=7)

_ID_BYTES = 32
_MAX_LENGTH = 128  # a real id has 43 characters


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


def _digest(session_id: str) -> bytes:
    # A plain hash suffices: the id is 256 random bits, there is nothing to guess.
    return hashlib.sha256(session_id.encode()).digest()


def create_session(engine: Engine, user: User) -> tuple[str, str]:
    """Sign `user` in: returns the session id (for the cookie) and its CSRF token."""
    if user.disabled:
        raise DisabledUser(f"user {user.name!r} is disabled and cannot sign in")
    session_id, csrf = secrets.token_urlsafe(_ID_BYTES), secrets.token_urlsafe(_ID_BYTES)
    moment = times.now()
    with engine.begin() as conn:
        _purge_expired(conn, moment)
        conn.execute(
            insert(auth_sessions).values(
                id_hash=_digest(session_id),
                user_id=user.id,
                csrf_token=csrf,
                created_at=times.stamp(moment),
                last_seen_at=times.stamp(moment),
            )
        )
    return session_id, csrf


def _purge_expired(conn: Connection, moment: datetime) -> None:
    """Forget sessions nobody can use any more (stamps compare as text, see times)."""
    conn.execute(
        delete(auth_sessions).where(
            or_(
                auth_sessions.c.created_at < times.stamp(moment - ABSOLUTE_TIMEOUT),
                auth_sessions.c.last_seen_at < times.stamp(moment - IDLE_TIMEOUT),
            )
        )
    )


def _expired(row: Any, moment: datetime) -> bool:
    return times.older_than(row.created_at, ABSOLUTE_TIMEOUT, moment) or times.older_than(
        row.last_seen_at, IDLE_TIMEOUT, moment
    )


def get_session(engine: Engine, session_id: str) -> Session | None:
    """The live session with this id, or None; using it keeps it from going idle."""
    if len(session_id) > _MAX_LENGTH:
        return None
    digest = _digest(session_id)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                *USER_COLUMNS,
                auth_sessions.c.csrf_token,
                auth_sessions.c.created_at,
                auth_sessions.c.last_seen_at,
            )
            .join(users, users.c.id == auth_sessions.c.user_id)
            .where(auth_sessions.c.id_hash == digest)
        ).first()
    if row is None or row.disabled:
        return None
    moment = times.now()
    if _expired(row, moment):
        _delete(engine, digest)
        return None
    if times.older_than(row.last_seen_at, times.TOUCH_INTERVAL, moment):
        with engine.begin() as conn:
            conn.execute(
                update(auth_sessions)
                .where(auth_sessions.c.id_hash == digest)
                .values(last_seen_at=times.stamp(moment))
            )
    return Session(user_from_row(row), row.csrf_token)


def user_for_session(engine: Engine, session_id: str) -> User | None:
    session = get_session(engine, session_id)
    return None if session is None else session.user


def csrf_token(engine: Engine, session_id: str) -> str | None:
    session = get_session(engine, session_id)
    return None if session is None else session.csrf_token


def end_session(engine: Engine, session_id: str) -> None:
    """Sign out; ending a session that is already gone is not an error."""
    _delete(engine, _digest(session_id))


def _delete(engine: Engine, digest: bytes) -> None:
    with engine.begin() as conn:
        conn.execute(delete(auth_sessions).where(auth_sessions.c.id_hash == digest))
