"""Who may see a page: FastAPI dependencies, and page answers to failures.

Pages sign people in with the session cookie of `lunan.auth.web`, whose CSRF check they share:
every form posts the session's token in the field `csrf_token`. A visitor who is not signed in
is sent to the sign-in page; a user without the permission a page or action needs gets a 403
page, whatever buttons the page showed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from lunan.auth import sessions
from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import CSRF_FIELD, SESSION_COOKIE, optional_user
from lunan.web.pages import i18n, render
from lunan.web.problems import Problem


class PageError(Exception):
    """Answered with an error page (or, to htmx, the error in place of the main content)."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail


class SignInRequired(Exception):
    """Answered by sending the visitor to the sign-in page, then back."""


def forbidden(detail: str = "") -> PageError:
    return PageError(403, "无权操作", detail)


def not_found(detail: str = "") -> PageError:
    return PageError(404, "未找到", detail)


async def form_data(request: Request) -> AsyncIterator[FormData | None]:
    """The posted form (parsed once; Starlette keeps it on the request)."""
    if request.method != "POST":
        yield None
        return
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()  # an uploaded spreadsheet is a temporary file


Form = Annotated[FormData | None, Depends(form_data)]


def viewer(request: Request, form: Form) -> render.Viewer:
    """Who is looking; checks the CSRF token of a form posted with the session cookie."""
    token = form.get(CSRF_FIELD) if form is not None else None
    try:
        user = optional_user(request, token if isinstance(token, str) else None)
    except Problem as e:
        raise PageError(
            e.status,
            "跨站请求校验失败" if e.slug == "csrf" else "未登录",
            "表单已过期或来自其他网站，请刷新页面后重试。" if e.slug == "csrf" else e.detail,
        ) from e
    csrf = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if user is not None and cookie is not None:
        csrf = sessions.csrf_token(request.app.state.log.engine, cookie)
    found = render.Viewer(user, csrf, i18n.language(request))
    request.state.viewer = found
    return found


Looking = Annotated[render.Viewer, Depends(viewer)]


def signed_in(looking: Looking) -> User:
    if looking.user is None:
        raise SignInRequired()
    return looking.user


def needs(permission: Permission) -> Callable[..., User]:
    """A dependency: the signed-in user, who must hold `permission` (else a 403 page)."""

    def dependency(user: Annotated[User, Depends(signed_in)]) -> User:
        if not user.can(permission):
            raise forbidden(
                f"需要“{permission.value}”权限 — requires the permission {permission.value!r}"
            )
        return user

    dependency.__name__ = f"page_needs_{permission.name.lower()}"
    return dependency


Reader = Annotated[User, Depends(needs(Permission.READ))]
SignedIn = Annotated[User, Depends(signed_in)]


def install_handlers(app: FastAPI) -> None:
    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        context = {"status": exc.status, "title": exc.title, "detail": exc.detail}
        if render.is_htmx(request):
            # The failure replaces the page's main content: the form that caused it is moot.
            headers = {"HX-Retarget": "#main", "HX-Reswap": "innerHTML"}
            return render.render(
                request, "_error.html", context, status=exc.status, headers=headers
            )
        return render.render(request, "error.html", context, status=exc.status)

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        here = request.url.path
        if request.method == "GET" and request.url.query:
            here += f"?{request.url.query}"
        target = f"/login?next={quote(here if request.method == 'GET' else '/', safe='/')}"
        if render.is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
