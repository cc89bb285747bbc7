"""Rendering pages: the Jinja2 environment, the context every page shares, the navigation.

Every page gets: the user (or None), the session's CSRF token for its forms, the language and
its translator `_`, the navigation the user may see, this node and the current chair city.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from lunan import __version__
from lunan.auth.roles import ROLE_LABELS, Permission
from lunan.auth.users import User
from lunan.clock import SHANGHAI
from lunan.coop import queries as coop_queries
from lunan.events.context import current_chair
from lunan.services import NodeParts
from lunan.web.pages import i18n

WEB = Path(__file__).resolve().parent.parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
HTMX = "vendor/htmx-2.0.11.min.js"
ECHARTS = "vendor/echarts-6.1.0.min.js"

# Nothing but this node's own files: no CDN, no inline script (charts read JSON data blocks).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show what a signed-in user may read: no shared cache keeps them.
    "Cache-Control": "no-store",
}

# htmx 2: swap the answers that carry a form with its errors, nothing for other failures.
HTMX_CONFIG = json.dumps(
    {
        "allowEval": False,
        "includeIndicatorStyles": False,
        "selfRequestsOnly": True,
        "historyCacheSize": 0,
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "^(401|403|404|409|413|422)$", "swap": True, "error": False},
            {"code": "[45]..", "swap": False, "error": True},
        ],
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class NavItem:
    key: str
    path: str
    label: str  # zh-CN, translated when shown
    public: bool = False  # shown to visitors who have not signed in
    permission: Permission = Permission.READ  # else shown to signed-in users holding this
    # Shown instead to a user who may not open this entry but may open the fallback: e.g. a
    # gate-only user (检票员) sees 数据共享 as its one page, 旅游核验.
    fallback: NavItem | None = None


NAV: list[NavItem] = [
    NavItem("overview", "/", "总览"),
    NavItem("tasks", "/tasks", "台账"),
    NavItem("meetings", "/meetings", "联席会议"),
    NavItem("agreements", "/agreements", "协议"),
    # 数据共享 goes here, before 联盟账本: add_nav(NavItem("sharing", "/sharing", "数据共享"),
    # before="chain") when its pages exist.
    NavItem("chain", "/chain", "联盟账本", public=True),
    NavItem("node", "/node", "节点"),
]


def add_nav(item: NavItem, before: str | None = None) -> None:
    """Add an area to the navigation (another package's pages), before the entry `before`."""
    keys = [n.key for n in NAV]
    if item.key in keys:
        return
    NAV.insert(keys.index(before) if before in keys else len(NAV), item)


# --- formatting -----------------------------------------------------------------------------


def shanghai_time(value: str | datetime | None) -> str:
    """An event or account time as people read it: 2026-11-29 21:30, in Asia/Shanghai."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def number(value: float | int | None) -> str:
    """75.0 → 75, 12.5 → 12.5; None → —."""
    if value is None:
        return "—"
    return f"{value:.1f}".removesuffix(".0")


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    kb = size / 1024
    return f"{kb:.1f} KB" if kb < 1024 else f"{kb / 1024:.1f} MB"


COLOUR_CLASSES = {"绿": "green", "黄": "yellow", "红": "red"}


def colour_class(colour: str) -> str:
    return COLOUR_CLASSES.get(colour, "none")


def object_path(object_id: str | None) -> str | None:
    """The page of an object, if it has one: task/371300/7 → /tasks/371300/7."""
    if not object_id:
        return None
    kind, _, rest = object_id.partition("/")
    area = {"task": "tasks", "meeting": "meetings", "agreement": "agreements"}.get(kind)
    return f"/{area}/{rest}" if area and rest.count("/") == 1 else None


def event_path(position: str | None) -> str | None:
    """The page of the event at `origin:idx` (as the ledger's views give positions)."""
    if not position or ":" not in position:
        return None
    origin, idx = position.rsplit(":", 1)
    return f"/chain/events/{origin}/{idx}"


@cache
def _static_version(name: str) -> str:
    """A short hash of a static file's content, so a changed file gets a new URL."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    if name.startswith("vendor/"):
        return f"/static/{name}"  # the version is in the name
    return f"/static/{name}?v={_static_version(name)}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        shtime=shanghai_time,
        num=number,
        filesize=file_size,
        colour_class=colour_class,
        object_path=object_path,
        event_path=event_path,
    )
    env.globals.update(
        static=static_url,
        HTMX=HTMX,
        ECHARTS=ECHARTS,
        HTMX_CONFIG=HTMX_CONFIG,
        VERSION=__version__,
        LANGUAGES=i18n.LANGUAGES,
    )
    return env


ENV = _environment()


# --- the shared context ---------------------------------------------------------------------


def parts_of(request: Request) -> NodeParts:
    parts: NodeParts = request.app.state.parts
    return parts


def city_names(parts: NodeParts) -> dict[str, str]:
    """Member city code → name, in the alliance file's order (else as the logs name them)."""
    if parts.alliance is not None and parts.alliance.members:
        return {m.city: m.name for m in parts.alliance.members}
    names = coop_queries.known_cities(parts.projector.engine)
    return names or {parts.config.city: parts.config.name}


def today() -> date:
    return coop_queries.today_in_shanghai()


@dataclass(frozen=True)
class Viewer:
    """Who is looking, in which language; `csrf` is None unless signed in by session."""

    user: User | None
    csrf: str | None
    lang: str


def viewer_of(request: Request) -> Viewer:
    found = getattr(request.state, "viewer", None)
    if isinstance(found, Viewer):
        return found
    return Viewer(None, None, i18n.language(request))


def _nav(user: User | None) -> list[NavItem]:
    """The entries `user` may open: public ones for anyone, others by permission (or their
    fallback, if the user may open that)."""

    def allowed(n: NavItem) -> bool:
        return n.public or (user is not None and user.can(n.permission))

    shown = []
    for n in NAV:
        if allowed(n):
            shown.append(n)
        elif n.fallback is not None and allowed(n.fallback):
            shown.append(n.fallback)
    return shown


def common(request: Request) -> dict[str, Any]:
    viewer = viewer_of(request)
    parts = parts_of(request)
    names = city_names(parts)
    translate = i18n.Translator(viewer.lang)
    chair = current_chair(parts.projector.engine)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def city(code: str | None) -> str:
        """A city as people read it: its name (translated), or the code if unknown."""
        if not code:
            return "—"
        return translate(names.get(code, code))

    def role_label(user: User) -> str:
        zh, en = ROLE_LABELS[user.role]
        return en if viewer.lang == "en" else zh

    return {
        "request": request,
        "user": viewer.user,
        "csrf": viewer.csrf,
        "lang": viewer.lang,
        "_": translate,
        "nav": _nav(viewer.user),
        "here": path,
        "node": parts.config,
        "chair": chair,
        "cities": names,
        "city": city,
        "role_label": role_label,
        "today": today(),
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page (or an htmx fragment, for templates named `_…`) with the shared context."""
    full = {**common(request), **(context or {})}
    html = ENV.get_template(template).render(full)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def is_htmx(request: Request) -> bool:
    """Whether htmx asked for a fragment (not a boosted navigation, which wants a page)."""
    return request.headers.get("HX-Request") == "true" and "HX-Boosted" not in request.headers
