"""The node's HTTP application: tlog-tiles, the JSON API, health."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from lunan import __version__, node
from lunan.auth import web as auth_web
from lunan.federation.runtime import Federation
from lunan.log import Log, open_log
from lunan.services import NodeParts, parts_for
from lunan.sharing import reactor
from lunan.web import exchange as exchange_web
from lunan.web import federation as federation_routes
from lunan.web import log_tiles, pages, problems
from lunan.web.api import alerts as alerts_api
from lunan.web.api import calendar as calendar_api
from lunan.web.api import events as events_api
from lunan.web.api import exchange as exchange_api
from lunan.web.api import governance as governance_api
from lunan.web.api import indicators as indicators_api
from lunan.web.api import log as log_api
from lunan.web.api import sharing as sharing_api
from lunan.web.api import tasks as tasks_api
from lunan.web.api import tasks_xlsx
from lunan.web.api import tourism as tourism_api


class AfterFold:
    """What the background loop does after replicating: fold, then let the node answer what
    it must answer by itself (approve 无条件共享 requests, acknowledge agreements) — only when
    the folded state moved since it last did (folded here, on a request's path, or by a CLI
    command in another process): the reactions depend on that state alone, and looking for
    them takes several queries, where the positions are one."""

    def __init__(self, parts: NodeParts) -> None:
        self.parts = parts
        self.seen: dict[str, int] | None = None  # the positions last reacted to

    def __call__(self) -> None:
        projector = self.parts.projector
        projector.catch_up()
        positions = projector.positions()  # read first: a later fold makes the next step react
        if positions != self.seen:
            reactor.react(self.parts)  # if it raises, `seen` stays and the next step retries
            self.seen = positions


def create_app(
    node_dir: Path, log: Log | None = None, federation: Federation | None = None
) -> FastAPI:
    """The node's app; with a `federation`, also its witness, status and background work."""
    the_log = log or open_log(node_dir)
    config = node.load_config(node_dir)
    parts = parts_for(node_dir, config, the_log, federation.alliance if federation else None)
    parts.projector.catch_up()
    if federation is not None:
        federation.after_step = AfterFold(parts)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = None
        if federation is not None:
            worker = threading.Thread(target=federation.run, args=(stop,), daemon=True)
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
        if federation is not None:
            federation.close()
        the_log.close()

    app = FastAPI(
        title="数字鲁南 Digital Lunan node",
        version=__version__,
        lifespan=lifespan,
        # Swagger UI would load its scripts from a CDN; intranets have none. The schema stays.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.log = the_log
    app.state.federation = federation
    app.state.parts = parts
    problems.install(app)
    # Routes are matched in order, one by one: the busiest come first — members' exchange and
    # witness calls, followers' log reads, gates' checks — ahead of the pages' many routes.
    app.include_router(exchange_web.router)
    app.include_router(log_tiles.router)
    app.include_router(log_api.router)
    app.include_router(federation_routes.router)
    app.include_router(exchange_api.router)
    app.include_router(tourism_api.router)
    auth_web.install(app)
    pages.install(app)
    app.include_router(events_api.router)
    app.include_router(tasks_api.router)
    app.include_router(tasks_xlsx.router)
    app.include_router(governance_api.router)
    app.include_router(indicators_api.router)
    app.include_router(sharing_api.router)
    app.include_router(calendar_api.router)
    app.include_router(alerts_api.router)
    if federation is not None:
        federation_routes.install(app, federation)

    @app.get("/healthz", tags=["node"])
    def healthz() -> dict[str, object]:
        return {"status": "ok", "origin": the_log.signer.name, "size": the_log.size()}

    return app
