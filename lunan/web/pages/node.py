"""节点 (the node): this node, its peers, replication, the software version and its health,
and its alerts — which the node's administrator resolves here with a note."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lunan import __version__
from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.events.errors import Conflict, Invalid, NotFound
from lunan.federation import alerts
from lunan.web.pages import render
from lunan.web.pages.chain import federation_of, log_statuses
from lunan.web.pages.deps import Form, PageError, Reader, needs, not_found
from lunan.web.pages.forms import FormState, text
from lunan.web.pages.i18n import Translator

router = APIRouter(include_in_schema=False)

# Alerts concern the node itself: only its administrator decides about them (as in the API).
Administrator = Annotated[User, Depends(needs(Permission.MANAGE_USERS))]
RESOLVED_SHOWN = 20


def health(request: Request, status: dict[str, Any] | None) -> list[tuple[str, bool, str]]:
    """(check, passed, detail) for what an operator looks at first."""
    parts = render.parts_of(request)
    state = parts.projector.state()
    checks = [
        ("日志可读写", True, f"{parts.log.size()}"),
        (
            "投影已跟上各日志",
            not state["waiting"],
            "；".join(f"{o} ← {w}" for o, w in state["waiting"].items()) or "—",
        ),
    ]
    if status is not None:
        own = status["node"]
        checks += [
            ("见证提交", own["submit_error"] is None, own["submit_error"] or "—"),
            ("投影折叠", own["projection_error"] is None, own["projection_error"] or "—"),
            (
                "本日志已确认",
                own["final_size"] == own["size"],
                f"{own['final_size']} / {own['size']}",
            ),
        ]
    return checks


def _members(request: Request) -> alerts.Members:
    return alerts.members_of(render.parts_of(request).alliance)


def node_context(
    request: Request, user: User, form: FormState | None = None, done: bool = False
) -> dict[str, Any]:
    parts = render.parts_of(request)
    fed = federation_of(request)
    status = fed.status() if fed is not None else None
    engine = parts.log.engine
    members = _members(request)
    open_alerts = alerts.list_alerts(engine, alerts.OPEN, members)
    resolved = alerts.list_alerts(engine, alerts.RESOLVED, members, RESOLVED_SHOWN)
    forms = {a.id: FormState(f"alert-{a.id}") for a in open_alerts}
    if form is not None:
        forms[int(form.name.removeprefix("alert-"))] = form
    return {
        "active": "node",
        "version": __version__,
        "config": parts.config,
        "alliance": parts.alliance,
        "status": status,
        "logs": log_statuses(request),
        "checks": health(request, status),
        "state": parts.projector.state(),
        "peers": status["members"] if status else [],
        "open_alerts": open_alerts,
        "resolved_alerts": list(reversed(resolved)),  # the latest decision first
        "can_resolve": user.can(Permission.MANAGE_USERS),
        "alert_forms": forms,
        "max_note": alerts.MAX_NOTE,
        "done": done,
    }


@router.get("/node", response_class=HTMLResponse)
def node_page(
    request: Request, user: Reader, ok: Annotated[str, Query(max_length=20)] = ""
) -> HTMLResponse:
    context = node_context(request, user, done=ok == "resolved")
    return render.render(request, "node.html", context)


@router.post("/node/alerts/{alert_id}/resolve", response_class=HTMLResponse)
def resolve_alert(request: Request, alert_id: str, user: Administrator, form: Form) -> Response:
    _ = Translator(render.viewer_of(request).lang)
    if not alert_id.isdigit() or len(alert_id) > 18:
        raise not_found("没有这个告警 — no such alert")
    state = FormState(f"alert-{alert_id}", {"note": text(form, "note")})
    engine = render.parts_of(request).log.engine
    try:
        alerts.resolve(engine, int(alert_id), state.values["note"], user.name, "web")
    except NotFound as e:
        raise not_found(e.message) from e
    except Conflict as e:
        raise PageError(409, "告警已处理", e.message) from e
    except Invalid as e:
        too_long = len(state.values["note"]) > alerts.MAX_NOTE
        state.add("note", _("最多{n}个字", n=alerts.MAX_NOTE) if too_long else _("必填"), e.status)
    if not state.ok:
        context = node_context(request, user, form=state)
        return render.render(request, "node.html", context, status=state.status)
    return RedirectResponse("/node?ok=resolved#alerts", status_code=303)
