"""节点 (the node): this node, its peers, replication, the software version and its health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lunan import __version__
from lunan.web.pages import render
from lunan.web.pages.chain import federation_of, log_statuses
from lunan.web.pages.deps import Reader

router = APIRouter(include_in_schema=False)


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


@router.get("/node", response_class=HTMLResponse)
def node_page(request: Request, _user: Reader) -> HTMLResponse:
    parts = render.parts_of(request)
    fed = federation_of(request)
    status = fed.status() if fed is not None else None
    return render.render(
        request,
        "node.html",
        {
            "active": "node",
            "version": __version__,
            "config": parts.config,
            "alliance": parts.alliance,
            "status": status,
            "logs": log_statuses(request),
            "checks": health(request, status),
            "state": parts.projector.state(),
            "peers": status["members"] if status else [],
        },
    )
