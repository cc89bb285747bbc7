"""RFC 9457 problem details: every error the API returns, with a stable `type` per failure."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from lunan.events.errors import ActionError
from lunan.events.registry import Rejected

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:lunan:problem:"


class Problem(Exception):
    """Raise from an endpoint to answer with a problem document."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extra = (
            status,
            slug,
            title,
            detail,
            extra,
        )


class _CellErrors(Protocol):
    """An import's refusal (lunan.exchange.importer.DataImportErrors and
    lunan.indicators.importer.ImportErrors): a message and every bad cell, a dataclass with
    row, column and problem."""

    message: str
    errors: list[Any]


def bad_file(e: _CellErrors, cell: type[BaseModel]) -> Problem:
    """422 for an uploaded file with bad cells, listing every one as a `cell`."""
    return Problem(
        422,
        "invalid-input",
        "输入有误 Invalid input",
        e.message,
        field="file",
        errors=[cell(**asdict(c)).model_dump() for c in e.errors],
    )


def problem_response(
    status: int, slug: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    """Make every error — ours, validation, unknown routes — a problem document."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, request.url.path, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['where']}: {e['problem']}" for e in errors)
        if all(e["loc"] and e["loc"][0] == "body" for e in exc.errors()):
            # A well-formed request whose content is wrong: 422, naming each field.
            return problem_response(
                422,
                "invalid-input",
                "输入有误 Invalid input",
                detail,
                request.url.path,
                errors=errors,
                field=errors[0]["where"].removeprefix("body."),
            )
        return problem_response(
            400,
            "invalid-parameters",
            "请求参数无效 Invalid parameters",
            detail,
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(ActionError)
    async def _refused(request: Request, exc: ActionError) -> JSONResponse:
        extra = {"field": exc.field} if exc.field else {}
        return problem_response(
            exc.status, exc.slug, exc.title, exc.message, request.url.path, **extra
        )

    @app.exception_handler(Rejected)
    async def _rejected(request: Request, exc: Rejected) -> JSONResponse:
        # Checked before appending, so this is a race with another write: retrying is safe.
        return problem_response(
            409,
            "rejected",
            "事件被拒绝 Event rejected",
            exc.detail,
            request.url.path,
            reason=exc.reason,
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the client's fault: say so without leaking internals.
        return problem_response(
            500,
            "internal-error",
            "服务器内部错误 Internal error",
            "the node failed to answer; the operator can find the error in its log",
            request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(
            exc.status_code, slug, str(exc.detail), str(exc.detail), request.url.path
        )
