"""The node's HTTP application: tlog-tiles, the JSON API, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from lunan import __version__
from lunan.log import Log, open_log
from lunan.web import log_tiles, problems
from lunan.web.api import log as log_api


def create_app(node_dir: Path, log: Log | None = None) -> FastAPI:
    the_log = log or open_log(node_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        the_log.close()

    app = FastAPI(
        title="数字鲁南 Digital Lunan node",
        version=__version__,
        lifespan=lifespan,
        # Swagger UI would load its scripts from a CDN; intranets have none. The schema stays.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.log = the_log
    problems.install(app)
    app.include_router(log_tiles.router)
    app.include_router(log_api.router)

    @app.get("/healthz", tags=["node"])
    def healthz() -> dict[str, object]:
        return {"status": "ok", "origin": the_log.signer.name, "size": the_log.size()}

    return app
