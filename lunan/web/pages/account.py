"""登录 (sign-in), 退出 (sign-out) and the user's own page: change password, API tokens.

Signing in sets the same session cookie as `POST /api/v1/session` (HttpOnly, SameSite=Lax,
Secure over https). The sign-in form itself is protected against login CSRF by a double-submit
token: a random value in a short-lived cookie that the form must echo.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lunan.auth import passwords, sessions, tokens, users
from lunan.auth.tokens import UnknownToken
from lunan.auth.users import AuthError, User, WrongPassword
from lunan.auth.web import SESSION_COOKIE
from lunan.web.pages import render
from lunan.web.pages.deps import Form, Looking, SignedIn, forbidden, not_found
from lunan.web.pages.forms import FormState, raw, text
from lunan.web.pages.i18n import Translator, local_path

router = APIRouter(include_in_schema=False)

LOGIN_COOKIE = "lunan_login"
LOGIN_FIELD = "login_token"
DONE = {"password": "密码已修改，其他设备上的登录已失效", "revoked": "令牌已吊销"}


def _engine(request: Request) -> Any:
    return request.app.state.log.engine


def _translator(request: Request) -> Translator:
    return Translator(render.viewer_of(request).lang)


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    # As lunan.auth.web does: no Max-Age, so closing the browser signs out.
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


# --- sign-in --------------------------------------------------------------------------------


def login_page(request: Request, state: FormState, next_: str, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render.render(
        request,
        "login.html",
        {"form": state, "next": next_, "login_token": token},
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    _looking: Looking,
    next: Annotated[str, Query(max_length=2000)] = "/",
) -> HTMLResponse:
    return login_page(request, FormState("login"), local_path(next))


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, form: Form) -> Response:
    _ = _translator(request)
    next_ = local_path(text(form, "next"))
    state = FormState("login", {"name": text(form, "name")})
    sent, expected = text(form, LOGIN_FIELD), request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        state.add("", _("登录表单已过期，请重新输入"), 403)
        return login_page(request, state, next_, state.status)
    password = raw(form, "password")
    if not state.values["name"]:
        state.add("name", _("必填"))
    if not password:
        state.add("password", _("必填"))
    if not state.ok:
        return login_page(request, state, next_, state.status)
    engine = _engine(request)
    user = users.authenticate(engine, state.values["name"], password)
    if user is None:
        # One answer for every failure, so that nobody learns which names exist.
        state.add("", _("用户名或密码错误，或账户已停用"), 401)
        return login_page(request, state, next_, state.status)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous is not None:
        sessions.end_session(engine, previous)
    session_id, _csrf = sessions.create_session(engine, user)
    response = RedirectResponse(next_, status_code=303)
    set_session_cookie(request, response, session_id)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, _user: SignedIn) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is not None:
        sessions.end_session(_engine(request), session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


# --- the user's own page --------------------------------------------------------------------


def account_context(
    request: Request,
    user: User,
    password: FormState | None = None,
    token: FormState | None = None,
    new_token: str | None = None,
    done: str = "",
) -> dict[str, Any]:
    return {
        "active": "account",
        "me": user,
        "tokens": tokens.list_tokens(_engine(request), user.name),
        "password_form": password or FormState("password"),
        "token_form": token or FormState("token"),
        "new_token": new_token,
        "done": DONE.get(done),
        "min_length": passwords.MIN_LENGTH,
        "by_session": render.viewer_of(request).csrf is not None,
    }


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request, user: SignedIn, ok: Annotated[str, Query(max_length=20)] = ""
) -> HTMLResponse:
    return render.render(request, "account.html", account_context(request, user, done=ok))


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, user: SignedIn, form: Form) -> Response:
    _ = _translator(request)
    state = FormState("password")
    old, new, again = (raw(form, k) for k in ("old", "new", "again"))
    if not old:
        state.add("old", _("必填"))
    if len(new) < passwords.MIN_LENGTH:
        state.add("new", _("新密码至少{n}个字符", n=passwords.MIN_LENGTH))
    elif len(new) > users.MAX_PASSWORD:
        state.add("new", _("新密码最多{n}个字符", n=users.MAX_PASSWORD))
    if new != again:
        state.add("again", _("两次输入的新密码不一致"))
    if state.ok:
        try:
            users.change_password(_engine(request), user.name, old, new)
        except WrongPassword:
            state.add("old", _("当前密码不正确"), 403)
        except AuthError as e:
            state.add("new", str(e))
    if not state.ok:
        context = account_context(request, user, password=state)
        return render.render(request, "account.html", context, status=state.status)
    # Every session of the user ended with the change: this browser gets a new one.
    session_id, _csrf = sessions.create_session(_engine(request), user)
    response = RedirectResponse("/account?ok=password", status_code=303)
    set_session_cookie(request, response, session_id)
    return response


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(request: Request, user: SignedIn, form: Form) -> HTMLResponse:
    if render.viewer_of(request).csrf is None:
        raise forbidden("API 令牌须由登录的人创建，不能用另一个令牌创建")
    _ = _translator(request)
    state = FormState("token", {"label": text(form, "label")})
    made = None
    try:
        made, _info = tokens.issue_token(_engine(request), user.name, state.values["label"])
    except AuthError:
        state.add("label", _("名称须为一行，最多64个字符"))
    context = account_context(request, user, token=state, new_token=made)
    return render.render(request, "account.html", context, status=state.status)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: str, user: SignedIn) -> Response:
    if not token_id.isdigit() or len(token_id) > 18:
        raise not_found("没有这个令牌")
    try:
        tokens.revoke_token(_engine(request), int(token_id), user_name=user.name)
    except UnknownToken as e:
        raise not_found("没有这个令牌 — no such API token of yours") from e
    return RedirectResponse("/account?ok=revoked", status_code=303)
