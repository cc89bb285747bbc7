"""Users of a node, on every database backend: adding, signing in, disabling, passwords."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import Engine, select

from lunan.auth import passwords, users
from lunan.auth.roles import Role
from lunan.auth.users import AuthError, DuplicateUser, UnknownUser, WrongPassword
from lunan.log import open_log
from lunan.storage.schema import users as users_table

LINYI = "371300"


def stored_hash(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        value: str = conn.execute(
            select(users_table.c.password_hash).where(users_table.c.name == name)
        ).scalar_one()
    return value


def test_a_new_user_signs_in_with_the_generated_password(engine: Engine) -> None:
    user, password = users.add_user(engine, LINYI, "wang.fang", "officer", display_name="王芳")
    assert (user.name, user.role, user.city, user.display_name) == (
        "wang.fang",
        Role.OFFICER,
        LINYI,
        "王芳",
    )
    assert not user.disabled
    assert len(password) >= 16
    assert users.authenticate(engine, "wang.fang", password) == user
    assert users.get_user(engine, "wang.fang") == user


def test_a_chosen_password_is_kept_and_only_its_hash_stored(engine: Engine) -> None:
    _, password = users.add_user(engine, LINYI, "li.lei", Role.ADMIN, password="s3cret-鲁南")
    assert password == "s3cret-鲁南"
    hashed = stored_hash(engine, "li.lei")
    assert hashed.startswith("$argon2id$") and "s3cret" not in hashed


def test_names_are_matched_without_regard_to_case_at_sign_in(engine: Engine) -> None:
    user, password = users.add_user(engine, LINYI, "zhang.wei", "viewer")
    assert users.authenticate(engine, " Zhang.Wei ", password) == user
    assert users.get_user(engine, "ZHANG.WEI") == user


def test_wrong_password_unknown_name_and_disabled_user_are_all_refused(engine: Engine) -> None:
    _, password = users.add_user(engine, LINYI, "wang.fang", "officer")
    assert users.authenticate(engine, "wang.fang", password + "x") is None
    assert users.authenticate(engine, "nobody", password) is None
    users.disable_user(engine, "wang.fang")
    assert users.authenticate(engine, "wang.fang", password) is None


class CountingHasher(PasswordHasher):
    """The tests' cheap hasher, noting every hash it verifies against."""

    def __init__(self) -> None:
        p = CHEAPEST
        super().__init__(p.time_cost, p.memory_cost, p.parallelism, p.hash_len, p.salt_len)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(hash))
        return super().verify(hash, password)


def test_an_unknown_name_costs_a_hash_verification_like_a_wrong_password(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that the time to refuse does not tell which names exist."""
    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "HASHER", hasher)
    users.add_user(engine, LINYI, "wang.fang", "officer", password="password-1")
    assert users.authenticate(engine, "nobody", "password-1") is None
    assert users.authenticate(engine, "wang.fang", "password-2") is None
    assert len(hasher.verified) == 2
    assert all(h.startswith("$argon2id$") for h in hasher.verified)
    assert hasher.verified[0] != stored_hash(engine, "wang.fang")


@pytest.mark.parametrize(
    "name", ["w", "Wang", "wang fang", "-wang", ".wang", "王芳", "x" * 33, "wang/fang", ""]
)
def test_bad_names_are_refused_with_what_a_name_may_hold(engine: Engine, name: str) -> None:
    with pytest.raises(AuthError, match="2–32 lower-case letters, digits"):
        users.add_user(engine, LINYI, name, "viewer")
    assert users.list_users(engine) == []


def test_names_may_hold_digits_dots_dashes_and_underscores(engine: Engine) -> None:
    for name in ("ab", "wang.fang_2", "371300-ops", "x" * 32):
        users.add_user(engine, LINYI, name, "viewer")
    assert [u.name for u in users.list_users(engine)] == sorted(
        ["ab", "wang.fang_2", "371300-ops", "x" * 32]
    )


def test_an_unknown_role_is_refused_listing_the_valid_ones(engine: Engine) -> None:
    with pytest.raises(AuthError) as e:
        users.add_user(engine, LINYI, "wang.fang", "superuser")
    assert str(e.value) == (
        "unknown role 'superuser': choose one of admin, coordinator, officer, auditor, viewer, gate"
    )


def test_a_password_shorter_than_8_characters_is_refused(engine: Engine) -> None:
    with pytest.raises(AuthError, match="fewer than 8"):
        users.add_user(engine, LINYI, "wang.fang", "officer", password="1234567")
    users.add_user(engine, LINYI, "wang.fang", "officer", password="12345678")


def test_a_bad_city_or_display_name_is_refused(engine: Engine) -> None:
    with pytest.raises(AuthError, match="6 digits"):
        users.add_user(engine, "linyi", "wang.fang", "officer")
    with pytest.raises(AuthError, match="one line"):
        users.add_user(engine, LINYI, "wang.fang", "officer", display_name="王\n芳")
    with pytest.raises(AuthError, match="at most 64"):
        users.add_user(engine, LINYI, "wang.fang", "officer", display_name="芳" * 65)


def test_a_name_is_taken_once(engine: Engine) -> None:
    users.add_user(engine, LINYI, "wang.fang", "officer")
    with pytest.raises(DuplicateUser, match=r"'wang\.fang' already exists"):
        users.add_user(engine, LINYI, "wang.fang", "admin")
    assert [u.role for u in users.list_users(engine)] == [Role.OFFICER]


def test_users_are_listed_by_name(engine: Engine) -> None:
    for name, role in [("zhao", "viewer"), ("an.qi", "auditor"), ("ma.li", "coordinator")]:
        users.add_user(engine, LINYI, name, role)
    assert [(u.name, u.role) for u in users.list_users(engine)] == [
        ("an.qi", Role.AUDITOR),
        ("ma.li", Role.COORDINATOR),
        ("zhao", Role.VIEWER),
    ]
    assert users.get_user(engine, "nobody") is None


def test_disabling_keeps_the_user_but_marks_it(engine: Engine) -> None:
    users.add_user(engine, LINYI, "wang.fang", "officer")
    disabled = users.disable_user(engine, "wang.fang")
    assert disabled.disabled
    assert users.get_user(engine, "wang.fang") == disabled
    assert users.disable_user(engine, "wang.fang") == disabled  # again: no harm
    with pytest.raises(UnknownUser, match="no user 'nobody'"):
        users.disable_user(engine, "nobody")


def test_a_reset_replaces_the_password(engine: Engine) -> None:
    _, old = users.add_user(engine, LINYI, "wang.fang", "officer")
    new = users.reset_password(engine, "wang.fang")
    assert new != old and len(new) >= 16
    assert users.authenticate(engine, "wang.fang", old) is None
    assert users.authenticate(engine, "wang.fang", new) is not None
    assert users.reset_password(engine, "wang.fang", "chosen-password") == "chosen-password"
    assert users.authenticate(engine, "wang.fang", "chosen-password") is not None
    with pytest.raises(AuthError, match="fewer than 8"):
        users.reset_password(engine, "wang.fang", "short")
    with pytest.raises(UnknownUser):
        users.reset_password(engine, "nobody")


def test_changing_ones_password_needs_the_current_one(engine: Engine) -> None:
    users.add_user(engine, LINYI, "wang.fang", "officer", password="first-password")
    with pytest.raises(WrongPassword, match="current password is wrong"):
        users.change_password(engine, "wang.fang", "not-it-at-all", "second-password")
    with pytest.raises(AuthError, match="fewer than 8"):
        users.change_password(engine, "wang.fang", "first-password", "short")
    users.change_password(engine, "wang.fang", "first-password", "second-password")
    assert users.authenticate(engine, "wang.fang", "first-password") is None
    assert users.authenticate(engine, "wang.fang", "second-password") is not None


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    users.add_user(engine, LINYI, "wang.fang", "officer", password="password-1")
    old = stored_hash(engine, "wang.fang")
    stronger = PasswordHasher(time_cost=CHEAPEST.time_cost + 1, memory_cost=16, parallelism=1)
    monkeypatch.setattr(passwords, "HASHER", stronger)
    assert users.authenticate(engine, "wang.fang", "wrong-password") is None
    assert stored_hash(engine, "wang.fang") == old  # only a right password is rehashed
    assert users.authenticate(engine, "wang.fang", "password-1") is not None
    new = stored_hash(engine, "wang.fang")
    assert new != old and f"t={CHEAPEST.time_cost + 1}" in new
    assert users.authenticate(engine, "wang.fang", "password-1") is not None
    assert stored_hash(engine, "wang.fang") == new


def test_users_never_reach_the_log(node_dir: Path, engine: Engine) -> None:
    with open_log(node_dir) as log:
        size = log.size()
        users.add_user(engine, LINYI, "wang.fang", "officer")
        users.reset_password(engine, "wang.fang")
        users.disable_user(engine, "wang.fang")
        assert log.size() == size
