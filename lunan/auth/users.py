"""The people of a node: who they are, their role, their password.

Users are node-local. Each belongs to the node's city and acts for that city only; nothing
about them is replicated or written to the log. What the log records of a person is
`User.actor()`: name, role and city, no personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from lunan.auth import passwords
from lunan.auth.roles import ROLE_PERMISSIONS, Permission, Role
from lunan.clock import now_shanghai
from lunan.storage.schema import auth_sessions, users

# Starts with a letter or digit, so that a name never looks like a command-line option.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
_CITY = re.compile(r"^\d{6}$")  # GB/T 2260, as in node.toml
MAX_PASSWORD = 256  # argon2 would take more; a longer "password" is a mistake or an attack


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    city: str
    display_name: str
    disabled: bool

    def can(self, permission: Permission) -> bool:
        return not self.disabled and permission in ROLE_PERMISSIONS[self.role]

    def actor(self) -> dict[str, str]:
        """Who did it, as events record it: the account, its role and city — no real name."""
        return {"user": self.name, "role": self.role.value, "city": self.city}


class AuthError(ValueError):
    """Bad input for an account; the message says what is wrong and how to fix it."""


class UnknownUser(AuthError):
    pass


class DuplicateUser(AuthError):
    pass


class WrongPassword(AuthError):
    pass


class DisabledUser(AuthError):
    pass


# What a User is made of; tokens and sessions select these too, joined to their own table.
USER_COLUMNS = (
    users.c.id,
    users.c.name,
    users.c.role,
    users.c.city,
    users.c.display_name,
    users.c.disabled,
)


def user_from_row(row: Any) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        city=row.city,
        display_name=row.display_name,
        disabled=bool(row.disabled),
    )


def normal_name(name: str) -> str:
    """Names are stored in lower case; people may type them otherwise when signing in."""
    return name.strip().lower()


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise AuthError(
            f"user name {name!r} must be 2–32 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, e.g. wang.fang"
        )
    return name


def parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AuthError(
            f"unknown role {role!r}: choose one of {', '.join(r.value for r in Role)}"
        ) from None


def check_password(password: str) -> str:
    if len(password) < passwords.MIN_LENGTH:
        raise AuthError(
            f"the password has {len(password)} characters, fewer than {passwords.MIN_LENGTH}: "
            "choose a longer one, or let the node generate one"
        )
    if len(password) > MAX_PASSWORD:
        raise AuthError(f"the password is longer than {MAX_PASSWORD} characters")
    return password


def one_line(text: str, what: str, limit: int = 64) -> str:
    """A short free text (display name, token label), stripped, on one printable line."""
    text = text.strip()
    if len(text) > limit or not text.isprintable():
        raise AuthError(f"{what} {text!r} must be at most {limit} printable characters on one line")
    return text


def _check_city(city: str) -> str:
    if not _CITY.match(city):
        raise AuthError(f"city code {city!r} is not 6 digits (GB/T 2260, e.g. 371300)")
    return city


def add_user(
    engine: Engine,
    city: str,
    name: str,
    role: Role | str,
    password: str | None = None,
    display_name: str = "",
) -> tuple[User, str]:
    """Create a user of `city`; returns it with its password (generated when None is given)."""
    draft = User(
        id=0,
        name=check_name(name),
        role=parse_role(role),
        city=_check_city(city),
        display_name=one_line(display_name, "display name"),
        disabled=False,
    )
    password = check_password(passwords.generate_password() if password is None else password)
    hashed = passwords.hash_password(password)  # slow: before the transaction, not in it
    now = now_shanghai()
    try:
        with engine.begin() as conn:
            result = conn.execute(
                insert(users).values(
                    name=draft.name,
                    role=draft.role.value,
                    city=draft.city,
                    display_name=draft.display_name,
                    disabled=False,
                    password_hash=hashed,
                    created_at=now,
                    password_changed_at=now,
                )
            )
    except IntegrityError:
        raise DuplicateUser(
            f"user {name!r} already exists: choose another name, or reset its password"
        ) from None
    assert result.inserted_primary_key is not None
    return replace(draft, id=result.inserted_primary_key[0]), password


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(select(*USER_COLUMNS).order_by(users.c.name)).all()
    return [user_from_row(r) for r in rows]


def get_user(engine: Engine, name: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(*USER_COLUMNS).where(users.c.name == normal_name(name))).first()
    return None if row is None else user_from_row(row)


def user_row(conn: Connection, name: str) -> Any:
    """The user's row with its password hash; UnknownUser if there is none."""
    row = conn.execute(
        select(*USER_COLUMNS, users.c.password_hash).where(users.c.name == normal_name(name))
    ).first()
    if row is None:
        raise UnknownUser(f"no user {name!r} on this node: see `lunan user list`")
    return row


def _end_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(delete(auth_sessions).where(auth_sessions.c.user_id == user_id))


def disable_user(engine: Engine, name: str) -> User:
    """Stop a user: no more sign-ins, its sessions end, its API tokens stop working."""
    with engine.begin() as conn:
        row = user_row(conn, name)
        conn.execute(update(users).where(users.c.id == row.id).values(disabled=True))
        _end_sessions(conn, row.id)
    return replace(user_from_row(row), disabled=True)


def _set_password(engine: Engine, name: str, password: str) -> None:
    """Replace a password and end the user's sessions: whoever knew the old one is signed out."""
    hashed = passwords.hash_password(check_password(password))
    with engine.begin() as conn:
        row = user_row(conn, name)
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(password_hash=hashed, password_changed_at=now_shanghai())
        )
        _end_sessions(conn, row.id)


def reset_password(engine: Engine, name: str, password: str | None = None) -> str:
    """An administrator's reset; returns the new password (generated when None is given)."""
    password = passwords.generate_password() if password is None else password
    _set_password(engine, name, password)
    return password


def change_password(engine: Engine, name: str, old: str, new: str) -> None:
    """The user's own change: only with the current password."""
    check_password(new)
    with engine.connect() as conn:
        row = user_row(conn, name)
    if not passwords.verify_password(row.password_hash, old):
        raise WrongPassword("the current password is wrong: type it again")
    _set_password(engine, name, new)


def authenticate(engine: Engine, name: str, password: str) -> User | None:
    """The user if the password is right and the user is enabled; None otherwise, taking about
    as long for an unknown name as for a wrong password."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*USER_COLUMNS, users.c.password_hash).where(users.c.name == normal_name(name))
        ).first()
    if row is None:
        passwords.waste_time(password)
        return None
    if not passwords.verify_password(row.password_hash, password) or row.disabled:
        return None
    if passwords.needs_rehash(row.password_hash):
        _rehash(engine, row.id, row.password_hash, password)
    return user_from_row(row)


def _rehash(engine: Engine, user_id: int, old_hash: str, password: str) -> None:
    """Store the hash with today's parameters, unless the password changed meanwhile."""
    hashed = passwords.hash_password(password)
    with engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.password_hash == old_hash)
            .values(password_hash=hashed)
        )
