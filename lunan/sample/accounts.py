"""The demo's accounts: one per role in each city, all with the same published password
(`linyi-coordinator`, …, and the gate-only `linyi-gate` of a ticket office).

A demo on 127.0.0.1 only; a real node creates its users with `lunan user add`, which generates
a password per person.
"""

from __future__ import annotations

from sqlalchemy import Engine

from lunan.auth.roles import ROLE_LABELS, Role
from lunan.auth.users import add_user, get_user

PASSWORD = "lunan-demo"
PINYIN = {"371300": "linyi", "370400": "zaozhuang", "370800": "jining", "371700": "heze"}


def account(city: str, role: Role) -> str:
    return f"{PINYIN.get(city, city)}-{role.value}"


def create_accounts(engine: Engine, city: str, city_name: str) -> None:
    """One account per role; an existing account is left as it is (later demo runs)."""
    for role in Role:
        name = account(city, role)
        if get_user(engine, name) is None:
            label = ROLE_LABELS[role][0]
            add_user(engine, city, name, role, PASSWORD, display_name=f"{city_name}{label}")
