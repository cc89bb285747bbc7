"""Who is asking, over HTTP: sign-in, API tokens, and the dependencies every endpoint uses.

People sign in at ``POST /api/v1/session`` and carry the session cookie; systems send
``Authorization: Bearer lnt_…``. Endpoints ask for the user with FastAPI dependencies::

    @router.post("/api/v1/tasks")
    def create(user: Annotated[User, Depends(require(Permission.MANAGE_TASKS))]) -> …

A cookie travels with any request the browser makes, including one a hostile page causes, so
a change (POST, PUT, PATCH, DELETE) made with the cookie must also carry the session's CSRF
token, in the header ``X-CSRF-Token`` or the form field ``csrf_token``; the dependencies check
that. A Bearer token is never sent by the browser on its own, so it needs no CSRF token.

`install(app)` mounts the routes and adds ``WWW-Authenticate: Bearer`` to every 401.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from lunan.auth import sessions, tokens, users
from lunan.auth.roles import ROLE_LABELS, ROLE_PERMISSIONS, Permission
from lunan.auth.sessions import Session
from lunan.auth.tokens import TokenInfo, UnknownToken
from lunan.auth.users import AuthError, DuplicateUser, UnknownUser, User, WrongPassword
from lunan.web.problems import Problem, problem_response

SESSION_COOKIE = "lunan_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

router = APIRouter(prefix="/api/v1", tags=["access"])


# --- who is asking --------------------------------------------------------------------------


class _Challenge(Problem):
    """A 401: answered with ``WWW-Authenticate: Bearer`` (RFC 9110 §11.6.1) by `install`'s
    handler, and as a plain problem document where only lunan.web.problems is installed."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(
            problem.status, problem.slug, problem.title, problem.detail, **problem.extra
        )


def _unauthenticated(detail: str) -> _Challenge:
    return _Challenge(Problem(401, "unauthenticated", "未登录 Not signed in", detail))


@dataclass(frozen=True)
class _Access:
    """Who asks and how: by API token (`session` None) or by session cookie."""

    user: User | None
    session_id: str | None = None
    session: Session | None = None


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.log.engine
    return engine


async def _form_csrf(request: Request) -> AsyncIterator[str | None]:
    """The `csrf_token` field of a form sent with the session cookie. Only an async dependency
    can read the body; the dependencies below are plain functions, run off the event loop."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if (
        request.method not in _UNSAFE
        or CSRF_HEADER in request.headers
        or content_type not in _FORMS
        or SESSION_COOKIE not in request.cookies
    ):
        yield None
        return
    form = await request.form()
    try:
        value = form.get(CSRF_FIELD)
        yield value if isinstance(value, str) else None
    finally:
        await form.close()  # uploaded files are temporary files


FormCsrf = Annotated[str | None, Depends(_form_csrf)]


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("the Authorization header must be `Bearer <API token>`")
    return token.strip()


def _check_csrf(request: Request, session: Session, form_csrf: str | None) -> None:
    sent = request.headers.get(CSRF_HEADER) or form_csrf
    if sent is None or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise Problem(
            403,
            "csrf",
            "跨站请求校验失败 CSRF check failed",
            f"a change made with the session cookie must carry the header {CSRF_HEADER} (or "
            f"the form field {CSRF_FIELD}) holding the csrf_token given at sign-in",
        )


def _access(request: Request, form_csrf: FormCsrf = None) -> _Access:
    """Who asks and how (a dependency of the routes below; the others build on it)."""
    engine = _engine(request)
    token = _bearer_token(request)
    if token is not None:
        # A credential that fails is refused, not ignored: the caller must learn it is wrong.
        user = tokens.user_for_token(engine, token)
        if user is None:
            raise _unauthenticated(
                "the API token is unknown or revoked, or its user is disabled: "
                "create a new one with `lunan token create`"
            )
        return _Access(user)
    session_id = request.cookies.get(SESSION_COOKIE)
    session = None if session_id is None else sessions.get_session(engine, session_id)
    if session is None:
        # An expired cookie makes an anonymous visitor, who can still read public pages.
        return _Access(None)
    if request.method in _UNSAFE:
        _check_csrf(request, session, form_csrf)
    return _Access(session.user, session_id, session)


def _signed_in(access: _Access) -> User:
    if access.user is None:
        raise _unauthenticated(
            "sign in at POST /api/v1/session, or send `Authorization: Bearer <API token>`"
        )
    return access.user


def optional_user(request: Request, form_csrf: FormCsrf = None) -> User | None:
    """The user asking, or None for an anonymous visitor (a dependency)."""
    return _access(request, form_csrf).user


def current_user(request: Request, form_csrf: FormCsrf = None) -> User:
    """The user asking; 401 ``unauthenticated`` for nobody (a dependency)."""
    return _signed_in(_access(request, form_csrf))


def _forbidden(user: User, permission: Permission) -> Problem:
    return Problem(
        403,
        "forbidden",
        "无权操作 Forbidden",
        f"user {user.name!r} ({user.role.value}) lacks the permission {permission.value!r}: "
        "ask your node's administrator",
        permission=permission.value,
    )


def require(permission: Permission) -> Callable[..., User]:
    """A dependency: the user asking, who must hold `permission` (401 nobody, 403 without)."""

    def dependency(request: Request, form_csrf: FormCsrf = None) -> User:
        user = current_user(request, form_csrf)
        if not user.can(permission):
            raise _forbidden(user, permission)
        return user

    dependency.__name__ = f"require_{permission.name.lower()}"
    return dependency


# Ready-made parameter types. Declare such aliases at module level: FastAPI resolves postponed
# annotations in the module's namespace, and an alias it cannot find silently becomes a query
# parameter named after the argument.
AccessDep = Annotated[_Access, Depends(_access)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
Administrator = Annotated[User, Depends(require(Permission.MANAGE_USERS))]


# --- documents ------------------------------------------------------------------------------


class UserOut(BaseModel):
    name: str
    role: str
    role_label: list[str] = Field(description="[zh, en], e.g. ['部门业务员', 'Department officer']")
    city: str
    display_name: str
    disabled: bool
    permissions: list[str]

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            name=user.name,
            role=user.role.value,
            role_label=list(ROLE_LABELS[user.role]),
            city=user.city,
            display_name=user.display_name,
            disabled=user.disabled,
            permissions=sorted(p.value for p in ROLE_PERMISSIONS[user.role]),
        )


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str | None = Field(
        description="send as X-CSRF-Token with every change; null when signed in by API token"
    )


class Credentials(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class PasswordChange(BaseModel):
    old: str = Field(max_length=1024)
    new: str = Field(max_length=1024)


class TokenRequest(BaseModel):
    label: str = Field(default="", max_length=256)


class TokenOut(BaseModel):
    id: int
    label: str
    created_at: str
    last_used_at: str | None

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(
            id=info.id,
            label=info.label,
            created_at=info.created_at,
            last_used_at=info.last_used_at,
        )


class NewToken(TokenOut):
    token: str = Field(description="shown once: the node keeps only its hash")


class NewUser(BaseModel):
    name: str = Field(max_length=64)
    role: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=256)
    password: str | None = Field(default=None, max_length=1024)


class PasswordReset(BaseModel):
    password: str | None = Field(default=None, max_length=1024)


class UserWithPassword(BaseModel):
    user: UserOut
    password: str | None = Field(description="the generated password, shown once; null if chosen")


# --- errors ---------------------------------------------------------------------------------


def _account_problem(error: AuthError) -> Problem:
    detail = str(error)
    if isinstance(error, UnknownUser):
        return Problem(404, "user-not-found", "用户不存在 No such user", detail)
    if isinstance(error, DuplicateUser):
        return Problem(409, "user-exists", "用户已存在 User exists", detail)
    if isinstance(error, WrongPassword):
        return Problem(403, "wrong-password", "密码错误 Wrong password", detail)
    if isinstance(error, UnknownToken):
        return Problem(404, "token-not-found", "令牌不存在 No such token", detail)
    return Problem(400, "invalid-account", "账户信息无效 Invalid account details", detail)


@contextmanager
def _account_errors() -> Iterator[None]:
    try:
        yield
    except AuthError as e:
        raise _account_problem(e) from e


# --- sign-in and the signed-in user ---------------------------------------------------------


def _set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    # No Max-Age: closing the browser signs out, which suits shared office computers; the
    # node's own timeouts bound the session in any case.
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _new_session(request: Request, response: Response, user: User) -> SessionOut:
    session_id, csrf = sessions.create_session(_engine(request), user)
    _set_session_cookie(request, response, session_id)
    return SessionOut(user=UserOut.of(user), csrf_token=csrf)


@router.post("/session")
def sign_in(credentials: Credentials, request: Request, response: Response) -> SessionOut:
    """Sign in with name and password: sets the session cookie, returns the CSRF token."""
    engine = _engine(request)
    user = users.authenticate(engine, credentials.name, credentials.password)
    if user is None:
        # One answer for an unknown name, a wrong password and a disabled account, so that
        # nobody can learn which names exist.
        raise _Challenge(
            Problem(
                401,
                "bad-credentials",
                "用户名或密码错误 Wrong name or password",
                "the name or the password is wrong, or the account is disabled",
            )
        )
    previous = request.cookies.get(SESSION_COOKIE)
    if previous is not None:
        sessions.end_session(engine, previous)
    return _new_session(request, response, user)


@router.delete("/session", status_code=204)
def sign_out(request: Request, response: Response, access: AccessDep) -> None:
    """Sign out: ends the session and clears the cookie; harmless when not signed in."""
    if access.session_id is not None:
        sessions.end_session(_engine(request), access.session_id)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@router.get("/me")
def me(access: AccessDep) -> SessionOut:
    """The user asking, with the session's CSRF token (null for an API token)."""
    user = _signed_in(access)
    csrf = None if access.session is None else access.session.csrf_token
    return SessionOut(user=UserOut.of(user), csrf_token=csrf)


@router.post("/me/password")
def change_password(
    change: PasswordChange, request: Request, response: Response, access: AccessDep
) -> SessionOut:
    """Change one's own password. Every session of the user ends; a caller signed in by
    cookie gets a fresh session (and CSRF token) in the answer."""
    user = _signed_in(access)
    with _account_errors():
        users.change_password(_engine(request), user.name, change.old, change.new)
    if access.session is None:
        return SessionOut(user=UserOut.of(user), csrf_token=None)
    return _new_session(request, response, user)


@router.get("/me/tokens")
def my_tokens(request: Request, user: CurrentUser) -> list[TokenOut]:
    with _account_errors():
        return [TokenOut.of(t) for t in tokens.list_tokens(_engine(request), user.name)]


@router.post("/me/tokens", status_code=201)
def create_my_token(body: TokenRequest, request: Request, access: AccessDep) -> NewToken:
    """A new API token for oneself; shown once in the answer."""
    user = _signed_in(access)
    if access.session is None:
        # A token that mints tokens would outlive its own revocation.
        raise Problem(
            403,
            "session-required",
            "需要登录 Sign-in required",
            "API tokens are created by a signed-in person, not with another token",
        )
    with _account_errors():
        token, info = tokens.issue_token(_engine(request), user.name, body.label)
    return NewToken(**TokenOut.of(info).model_dump(), token=token)


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_my_token(token_id: int, request: Request, user: CurrentUser) -> None:
    with _account_errors():
        tokens.revoke_token(_engine(request), token_id, user_name=user.name)


# --- administration (admin only) ------------------------------------------------------------


@router.get("/users")
def list_users(request: Request, _admin: Administrator) -> list[UserOut]:
    return [UserOut.of(u) for u in users.list_users(_engine(request))]


@router.post("/users", status_code=201)
def add_user(new: NewUser, request: Request, admin: Administrator) -> UserWithPassword:
    """Add a user to the administrator's own city; a generated password is shown once."""
    with _account_errors():
        user, password = users.add_user(
            _engine(request), admin.city, new.name, new.role, new.password, new.display_name
        )
    return UserWithPassword(user=UserOut.of(user), password=_shown(new.password, password))


@router.post("/users/{name}/disable")
def disable_user(name: str, request: Request, _admin: Administrator) -> UserOut:
    with _account_errors():
        return UserOut.of(users.disable_user(_engine(request), name))


@router.post("/users/{name}/reset-password")
def reset_password(
    name: str, request: Request, _admin: Administrator, body: PasswordReset | None = None
) -> UserWithPassword:
    chosen = None if body is None else body.password
    engine = _engine(request)
    with _account_errors():
        password = users.reset_password(engine, name, chosen)
        user = users.get_user(engine, name)
    assert user is not None
    return UserWithPassword(user=UserOut.of(user), password=_shown(chosen, password))


def _shown(chosen: str | None, password: str) -> str | None:
    """A password goes back over the wire only if the node made it up."""
    return password if chosen is None else None


# --- mounting -------------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Mount the routes and answer 401s with their challenge (after problems.install)."""

    async def challenge(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, _Challenge)
        response = problem_response(
            exc.status, exc.slug, exc.title, exc.detail, request.url.path, **exc.extra
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="lunan"'
        return response

    app.add_exception_handler(_Challenge, challenge)
    app.include_router(router)
