"""The ledger (台账) as a spreadsheet over HTTP: download an .xlsx, upload one to import.

The export needs any signed-in user (READ); the import a user of the chair city who manages
tasks (MANAGE_TASKS). An upload with any bad row or cell is answered 422 with every problem
listed (`errors`: row as Excel numbers it, column header, value, problem) and stores nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import require
from lunan.coop import queries, spreadsheet
from lunan.web.api.common import node_parts as _parts
from lunan.web.problems import PROBLEM_JSON, Problem

router = APIRouter(prefix="/api/v1", tags=["tasks"])

Reader = Annotated[User, Depends(require(Permission.READ))]
Manager = Annotated[User, Depends(require(Permission.MANAGE_TASKS))]
CityQuery = Annotated[str | None, Query(pattern=r"^\d{6}$")]
MAX_UPLOAD = 10 * 1024 * 1024  # a ledger of thousands of tasks is well under 1 MB


class TaskRef(BaseModel):
    number: str = Field(title="编号", examples=["LN-01"])
    id: str = Field(examples=["task/371300/1"])


class Imported(BaseModel):
    created: list[TaskRef]
    updated: list[TaskRef]
    unchanged: list[str] = Field(description="编号 of the rows that matched their task already")


class CellProblem(BaseModel):
    row: int = Field(description="as Excel numbers it; 1 is the header row, 0 the whole file")
    column: str = Field(description="the column header, e.g. 完成时限; empty for a whole row")
    value: str
    problem: str = Field(description="zh-CN first, English after")


class SpreadsheetProblem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    field: str = Field(examples=["rows[3].完成时限"])
    errors: list[CellProblem]


def _disposition(today: date) -> str:
    """An attachment name in Chinese for browsers (RFC 6266 filename*), ASCII for the rest."""
    name = f"台账-{today.isoformat()}.xlsx"
    return (
        f"attachment; filename=\"tasks-{today.isoformat()}.xlsx\"; filename*=UTF-8''{quote(name)}"
    )


@router.get(
    "/tasks.xlsx",
    response_class=Response,
    responses={
        200: {
            "content": {spreadsheet.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "the .xlsx",
        }
    },
)
def export_tasks(
    request: Request,
    _user: Reader,
    area: str | None = None,
    lead_city: CityQuery = None,
    partner_city: CityQuery = None,
) -> Response:
    """The ledger (or the tasks matching the filters) as an .xlsx with Chinese headers; it
    imports back unchanged."""
    data = spreadsheet.export_tasks(
        _parts(request), area=area, lead_city=lead_city, partner_city=partner_city
    )
    return Response(
        data,
        media_type=spreadsheet.MEDIA_TYPE,
        headers={"Content-Disposition": _disposition(queries.today_in_shanghai())},
    )


@router.post(
    "/tasks/import",
    responses={
        413: {"description": "the file is larger than 10 MB"},
        422: {
            "model": SpreadsheetProblem,
            "content": {PROBLEM_JSON: {}},
            "description": "every bad row and cell; nothing was stored",
        },
    },
)
def import_tasks(
    request: Request,
    user: Manager,
    file: Annotated[UploadFile, File(description="the .xlsx, e.g. an edited export")],
) -> Imported:
    """Create and update tasks from an .xlsx, all or nothing: the chair city only. Rows whose
    编号 exists update that task (if anything changed); other rows create tasks."""
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise Problem(
            413,
            "too-large",
            "文件过大 File too large",
            f"the spreadsheet is larger than {MAX_UPLOAD // (1024 * 1024)} MB",
        )
    try:
        result = spreadsheet.import_tasks(_parts(request), user, data)
    except spreadsheet.SpreadsheetInvalid as e:
        raise Problem(
            422,
            "invalid-input",
            "表格有误 Invalid spreadsheet",
            e.message,
            field=e.field,
            errors=[
                CellProblem(
                    row=c.row, column=c.column, value=c.value, problem=c.problem
                ).model_dump()
                for c in e.errors
            ],
        ) from e
    return Imported(
        created=[TaskRef(number=n, id=i) for n, i in result.created],
        updated=[TaskRef(number=n, id=i) for n, i in result.updated],
        unchanged=list(result.unchanged),
    )
