"""People and access: users with roles, argon2id passwords, sessions, API tokens.

Everything here is node-local: users belong to the node's city, act only for it, and are never
replicated or written to the log; events record `User.actor()` (name, role, city) and nothing
else about a person.

`lunan.auth.web` holds the FastAPI dependencies and routes, `lunan.auth.cli` the `lunan user` and
`lunan token` commands (imported separately, so that library users load neither).
"""

from lunan.auth.roles import ROLE_LABELS, ROLE_PERMISSIONS, Permission, Role
from lunan.auth.sessions import create_session, csrf_token, end_session, user_for_session
from lunan.auth.tokens import create_token, list_tokens, revoke_token, user_for_token
from lunan.auth.users import (
    AuthError,
    User,
    add_user,
    authenticate,
    change_password,
    disable_user,
    get_user,
    list_users,
    reset_password,
)

__all__ = [
    "ROLE_LABELS",
    "ROLE_PERMISSIONS",
    "AuthError",
    "Permission",
    "Role",
    "User",
    "add_user",
    "authenticate",
    "change_password",
    "create_session",
    "create_token",
    "csrf_token",
    "disable_user",
    "end_session",
    "get_user",
    "list_tokens",
    "list_users",
    "reset_password",
    "revoke_token",
    "user_for_session",
    "user_for_token",
]
