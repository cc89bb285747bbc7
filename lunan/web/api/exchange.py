"""The exchange for applications and people: call a provider, audit, one exchange's records,
and a city's own data (import a table, see what serves each service).

`POST /api/v1/exchange/call` and the `/api/v1/data/…` endpoints need Permission.MANAGE_DATA and
act for the node's own city; the audit and the records only a signed-in user (Permission.READ):
they are computed from the logs, which every member holds and which carry no data.
The node-to-node endpoint itself (`POST /exchange/v1/{service}`) is lunan.web.exchange.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import require
from lunan.events.errors import NotFound
from lunan.exchange import actions, adapters, client, importer, queries
from lunan.exchange.events import AGREEMENT
from lunan.exchange.protocol import REQUEST_ID
from lunan.sharing.models import CODE
from lunan.web.api.common import node_parts as _parts
from lunan.web.problems import Problem, bad_file

router = APIRouter(tags=["exchange"])

Reader = Annotated[User, Depends(require(Permission.READ))]
Manager = Annotated[User, Depends(require(Permission.MANAGE_DATA))]


# --- calling a provider -------------------------------------------------------------------------


class CallIn(BaseModel):
    agreement: str = Field(pattern=AGREEMENT, examples=["data-agreement/370400/2"])
    params: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        max_length=20, description="key field -> value, e.g. {'身份证号': '…'}"
    )
    purpose: str | None = Field(
        default=None, max_length=2000, description="default: the agreement's own purpose"
    )
    fields: list[str] | None = Field(default=None, min_length=1, max_length=200)
    timeout: float = Field(default=client.DEFAULT_TIMEOUT, gt=0, le=30)


class CallOut(BaseModel):
    status: int = Field(description="the provider's HTTP status; 200: rows or answer")
    rows: list[dict[str, Any]] | None
    answer: str | None = Field(description="是 or 否, for a 是/否 service")
    request_id: str
    provider: str
    problem: dict[str, Any] | None = Field(description="the provider's problem document")


@router.post(
    "/api/v1/exchange/call",
    responses={503: {"description": "exchange-unavailable: the provider could not be asked"}},
)
def call(request: Request, user: Manager, body: CallIn) -> CallOut:
    """Ask a provider under an agreement granted to this city. A refusal by the provider is
    a 200 whose `status` and `problem` are the provider's; 503 if it could not be asked."""
    try:
        result = actions.call(
            _parts(request),
            user,
            user.name,
            body.agreement,
            body.params,
            body.purpose,
            body.fields,
            body.timeout,
        )
    except client.ExchangeUnavailable as e:
        raise Problem(
            503, "exchange-unavailable", "对方节点无法提供答复 Provider unavailable", str(e)
        ) from e
    return CallOut(**asdict(result))


# --- audit --------------------------------------------------------------------------------------


@router.get("/api/v1/exchange/audit")
def audit(
    request: Request,
    _user: Reader,
    agreement: Annotated[str | None, Query(pattern=AGREEMENT)] = None,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> queries.Audit:
    """Served, denied and received counts, rows and bytes: for one agreement, one city (as
    provider and as requester) or the whole alliance; by day, by agreement and by city."""
    return queries.audit(_folded(request), agreement, city)


def _folded(request: Request) -> Engine:
    """Exchange records are folded off the request path (Writer.append, exclusive=False):
    fold what is pending first, so that a caller reads its own exchanges."""
    projector = _parts(request).projector
    projector.catch_up()
    return projector.engine


class RecordsOut(BaseModel):
    request_id: str
    records: list[queries.Record]


@router.get("/api/v1/exchange/records/{request_id}")
def records(
    request: Request,
    _user: Reader,
    request_id: Annotated[str, Path(pattern=REQUEST_ID)],
) -> RecordsOut:
    """What the provider and the requester logged of one exchange; each record links to its
    event, which carries the inclusion proof."""
    found = queries.records(_folded(request), request_id)
    if not found:
        raise NotFound(f"本节点没有交换{request_id}的记录 no records of exchange {request_id}")
    return RecordsOut(request_id=request_id, records=found)


# --- a city's own data --------------------------------------------------------------------------


class ImportOut(BaseModel):
    entry: str
    service: str
    rows: int
    adapter: str = Field(description="what serves the entry now")
    configured: bool = Field(description="the import set the service to the imported table")


class BadCell(BaseModel):
    row: int | None = Field(description="the file's row (the header is row 1); null: the file")
    column: str
    problem: str


@router.post("/api/v1/data/import")
def import_data(
    request: Request,
    user: Manager,
    entry: Annotated[str, Query(pattern=CODE, description="resource code, e.g. 371300-05-0001")],
    file: Annotated[UploadFile, File(description="UTF-8 CSV or XLSX; row 1: the entry's fields")],
) -> ImportOut:
    """Replace the rows of this city's entry: all or none; 422 lists every bad cell (by row
    and column, never by value)."""
    data = file.file.read(importer.MAX_BYTES + 1)
    try:
        result = actions.import_data(_parts(request), user, entry, data)
    except importer.DataImportErrors as e:
        raise bad_file(e, BadCell) from e
    return ImportOut(
        entry=result.code,
        service=result.service,
        rows=result.rows,
        adapter=result.adapter,
        configured=result.configured,
    )


class ServiceOut(BaseModel):
    service: str
    dataset: str
    adapter: str
    source: str = Field(description="where it reads, without passwords")
    updated_at: str


@router.get("/api/v1/data/services")
def services(request: Request, _user: Manager) -> list[ServiceOut]:
    """The services this node provides and where each reads its data."""
    return [
        ServiceOut(
            service=c.service,
            dataset=c.dataset,
            adapter=c.adapter,
            source=c.describe(),
            updated_at=c.updated_at,
        )
        for c in adapters.list_configs(_parts(request).projector.engine)
    ]
