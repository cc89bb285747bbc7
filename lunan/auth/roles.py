"""Roles and what each may do. A role is a fixed bundle of permissions: the alliance's working
rules name five kinds of people, and the tourism 同城化 adds a sixth (ticket-gate staff, who
only check visitors) — not arbitrary grants, so there is nothing to configure."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    OFFICER = "officer"
    AUDITOR = "auditor"
    VIEWER = "viewer"
    GATE = "gate"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.ADMIN: ("管理员", "Administrator"),
    Role.COORDINATOR: ("工作专班联络员", "Coordinator"),
    Role.OFFICER: ("部门业务员", "Department officer"),
    Role.AUDITOR: ("审计员", "Auditor"),
    Role.VIEWER: ("访客", "Viewer"),
    Role.GATE: ("检票员", "Ticket gate"),
}


class Permission(StrEnum):
    READ = "read"
    # Users are node-local: an administrator manages the people of its own city only.
    MANAGE_USERS = "users.manage"
    # Create and edit tasks, supervise them, approve requests (as the chair city).
    MANAGE_TASKS = "tasks.manage"
    # Progress reports, extension and completion requests on tasks.
    REPORT_TASKS = "tasks.report"
    # Meetings, bodies, agreements, the chair handover, signing agreements.
    MANAGE_GOVERNANCE = "governance.manage"
    PUBLISH_INDICATORS = "indicators.publish"
    # Data sharing.
    MANAGE_DATA = "data.manage"
    # The tourism gate's check (lunan.apps.tourism.gate): what a visitor pays, asked of the
    # member cities through the exchange. Signing in needs no permission.
    TOURISM_CHECK = "tourism.check"


# Who does the work in a department (officer) reports and publishes; the coordinators of the
# working group (工作专班) also steer it; the auditor reads everything and changes nothing.
_OFFICER = frozenset(
    {
        Permission.READ,
        Permission.REPORT_TASKS,
        Permission.PUBLISH_INDICATORS,
        Permission.MANAGE_DATA,
        Permission.TOURISM_CHECK,
    }
)
_COORDINATOR = _OFFICER | {Permission.MANAGE_TASKS, Permission.MANAGE_GOVERNANCE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.COORDINATOR: _COORDINATOR,
    Role.OFFICER: _OFFICER,
    Role.AUDITOR: frozenset({Permission.READ}),
    Role.VIEWER: frozenset({Permission.READ}),
    # Ticket-gate staff (检票员) check visitors and do nothing else: no reading the ledger,
    # meetings or data sharing, no data.manage.
    Role.GATE: frozenset({Permission.TOURISM_CHECK}),
}


def label(role: Role) -> str:
    """ "工作专班联络员 Coordinator": how a role is shown to people."""
    zh, en = ROLE_LABELS[role]
    return f"{zh} {en}"
