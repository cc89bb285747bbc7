"""The node's web pages: server-rendered Jinja2 with htmx for partial updates, zh-CN first.

Every page reads through the domains' query modules and writes through their action modules,
never through the JSON API. `install(app)` mounts the vendored static files and every page
router; call it after `lunan.web.problems.install` and `lunan.auth.web.install`.

One router per area: overview (总览), ledger (台账), meetings (联席会议), agreements (协议),
chain (联盟账本), node (节点), account (登录 and the user's own page), and sharing (数据共享:
the catalog, requests, agreements, the exchange record and the tourism check), whose nav entry
`install` adds before 联盟账本.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from lunan.auth.roles import Permission


def install(app: FastAPI) -> None:
    """Mount /static and the page routes, and answer page errors with pages."""
    # Imported here, not at the top: the page modules import this package's `render`, and a
    # package that imported them back would be an import cycle.
    from lunan.web.pages import (
        account,
        agreements,
        chain,
        deps,
        i18n,
        ledger,
        meetings,
        node,
        overview,
        render,
        sharing,
    )

    app.mount("/static", StaticFiles(directory=render.STATIC), name="static")
    deps.install_handlers(app)
    # A gate-only user (TOURISM_CHECK, no READ) sees the area as its one page, the ticket check.
    gate = render.NavItem(
        "sharing", "/sharing/tourism", "旅游核验", permission=Permission.TOURISM_CHECK
    )
    render.add_nav(render.NavItem("sharing", "/sharing", "数据共享", fallback=gate), before="chain")
    for module in (account, i18n, overview, ledger, meetings, agreements, sharing, chain, node):
        app.include_router(module.router)
