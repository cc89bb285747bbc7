"""Roles and permissions: the matrix the issue asks for, and what events record of a user."""

from __future__ import annotations

import pytest

from lunan.auth.roles import ROLE_LABELS, ROLE_PERMISSIONS, Permission, Role, label
from lunan.auth.users import User

P = Permission
EXPECTED = {
    Role.ADMIN: set(Permission),
    Role.COORDINATOR: {
        P.READ,
        P.MANAGE_TASKS,
        P.REPORT_TASKS,
        P.MANAGE_GOVERNANCE,
        P.PUBLISH_INDICATORS,
        P.MANAGE_DATA,
        P.TOURISM_CHECK,
    },
    Role.OFFICER: {P.READ, P.REPORT_TASKS, P.PUBLISH_INDICATORS, P.MANAGE_DATA, P.TOURISM_CHECK},
    Role.AUDITOR: {P.READ},
    Role.VIEWER: {P.READ},
    Role.GATE: {P.TOURISM_CHECK},
}


def user(role: Role, disabled: bool = False) -> User:
    return User(1, "wang.fang", role, "371300", "王芳", disabled)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_has_exactly_its_permissions(role: Role) -> None:
    assert set(ROLE_PERMISSIONS[role]) == EXPECTED[role]
    assert {p for p in Permission if user(role).can(p)} == EXPECTED[role]


def test_only_administrators_manage_users() -> None:
    assert [r for r in Role if user(r).can(P.MANAGE_USERS)] == [Role.ADMIN]


def test_the_auditor_reads_everything_and_changes_nothing() -> None:
    assert ROLE_PERMISSIONS[Role.AUDITOR] == {P.READ}


def test_permission_values_are_the_documented_strings() -> None:
    assert [p.value for p in Permission] == [
        "read",
        "users.manage",
        "tasks.manage",
        "tasks.report",
        "governance.manage",
        "indicators.publish",
        "data.manage",
        "tourism.check",
    ]


def test_every_role_has_a_chinese_and_an_english_label() -> None:
    assert set(ROLE_LABELS) == set(Role)
    assert ROLE_LABELS[Role.COORDINATOR] == ("工作专班联络员", "Coordinator")
    assert ROLE_LABELS[Role.OFFICER] == ("部门业务员", "Department officer")
    assert label(Role.AUDITOR) == "审计员 Auditor"
    assert label(Role.GATE) == "检票员 Ticket gate"


def test_the_gate_only_checks_tickets_and_whoever_checked_before_still_does() -> None:
    assert ROLE_PERMISSIONS[Role.GATE] == {P.TOURISM_CHECK}
    checkers = [r for r in Role if user(r).can(P.TOURISM_CHECK)]
    assert checkers == [Role.ADMIN, Role.COORDINATOR, Role.OFFICER, Role.GATE]
    # Everyone who could check before (data.manage) still can.
    assert all(user(r).can(P.TOURISM_CHECK) for r in Role if user(r).can(P.MANAGE_DATA))


def test_a_disabled_user_can_do_nothing() -> None:
    assert not any(user(Role.ADMIN, disabled=True).can(p) for p in Permission)


def test_the_actor_names_account_role_and_city_but_no_personal_data() -> None:
    actor = user(Role.OFFICER).actor()
    assert actor == {"user": "wang.fang", "role": "officer", "city": "371300"}
    assert "王芳" not in str(actor)
