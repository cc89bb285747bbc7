"""The data-sharing API: the catalog (共享目录), requests (共享申请), agreements (数据共享协议).

Reads need a signed-in user (Permission.READ); writes need Permission.MANAGE_DATA and act for
the node's own city: a catalog entry on its provider's node, a request on the requester's, a
decision and suspend/resume/revoke on the provider's, an acknowledgement on the requester's.
Objects are addressed by their id's city and number: `dataset/371300/1` is /catalog/371300/1,
`data-request/370400/2` /requests/370400/2, `data-agreement/371300/3` /agreements/371300/3.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import require
from lunan.sharing import actions, dcat, queries
from lunan.sharing.models import (
    CODE,
    ApprovalTerms,
    Category,
    DatasetFields,
    Model,
    Reason,
    RequestFields,
    Withdrawal,
)
from lunan.web.api.common import found as _found
from lunan.web.api.common import node_parts as _parts

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"])

City = Annotated[str, Path(pattern=r"^\d{6}$", description="city code in the object id")]
Number = Annotated[int, Path(ge=1, le=2**53 - 1, description="number in the object id")]
CityFilter = Annotated[str | None, Query(pattern=r"^\d{6}$")]
Reader = Annotated[User, Depends(require(Permission.READ))]
Manager = Annotated[User, Depends(require(Permission.MANAGE_DATA))]
Day = Annotated[
    dt.date | None, Query(description="the day statuses are worked out for (default today)")
]


class Written(BaseModel):
    """The object a write created or changed."""

    id: str


class ReasonBody(Model):
    reason: Reason


class RefusalBody(Model):
    reason: Reason = Field(title="不予批准理由")


# --- the catalog ----------------------------------------------------------------------------


@router.get("/catalog")
def list_catalog(
    request: Request,
    _user: Reader,
    city: CityFilter = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    category: Category | None = None,
    q: Annotated[str | None, Query(max_length=100, description="search text")] = None,
    include_withdrawn: bool = False,
) -> list[queries.DatasetView]:
    """The alliance-wide catalog: every member's entries, by resource code."""
    engine = _parts(request).projector.engine
    return queries.datasets(engine, city, department, category, q, include_withdrawn)


@router.get(
    "/catalog.jsonld",
    response_class=JSONResponse,
    responses={200: {"content": {dcat.MEDIA_TYPE: {}}, "description": "DCAT-AP JSON-LD"}},
)
def export_catalog(
    request: Request,
    _user: Reader,
    city: CityFilter = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    category: Category | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    """The catalog as DCAT-AP JSON-LD: dcat:Catalog, a dcat:Dataset per published entry with
    dct:identifier (resource code), dct:publisher, dct:accessRights (PUBLIC / RESTRICTED /
    NON_PUBLIC), dcat:distribution with the exchange service, the fields as a CSVW schema."""
    engine = _parts(request).projector.engine
    entries = queries.datasets(engine, city, department, category, q)
    document = dcat.catalog(engine, entries, str(request.url))
    return JSONResponse(document, media_type=dcat.MEDIA_TYPE)


@router.get("/catalog/by-code/{code}")
def get_by_code(
    request: Request, _user: Reader, code: Annotated[str, Path(pattern=CODE)]
) -> queries.DatasetView:
    return _found(queries.dataset_by_code(_parts(request).projector.engine, code), code)


@router.get("/catalog/{city}/{n}")
def get_dataset(request: Request, _user: Reader, city: City, n: Number) -> queries.DatasetView:
    dataset_id = f"dataset/{city}/{n}"
    return _found(queries.dataset(_parts(request).projector.engine, dataset_id), dataset_id)


@router.post("/catalog", status_code=201)
def publish(request: Request, user: Manager, body: DatasetFields) -> Written:
    """Publish an entry of this city; its code starts with the city's code."""
    return Written(id=actions.publish_dataset(_parts(request), user, body))


@router.put("/catalog/{city}/{n}")
def update(request: Request, user: Manager, city: City, n: Number, body: DatasetFields) -> Written:
    """Revise an entry (code, service and answer stay as published)."""
    dataset_id = f"dataset/{city}/{n}"
    return Written(id=actions.update_dataset(_parts(request), user, dataset_id, body))


@router.post("/catalog/{city}/{n}/withdraw")
def withdraw(request: Request, user: Manager, city: City, n: Number, body: Withdrawal) -> Written:
    """Withdraw an entry; its live agreements must be revoked first."""
    dataset_id = f"dataset/{city}/{n}"
    return Written(id=actions.withdraw_dataset(_parts(request), user, dataset_id, body.reason))


# --- requests -------------------------------------------------------------------------------

RequestStatus = Literal["pending", "withdrawn", "approved", "refused"]


@router.get("/requests")
def list_requests(
    request: Request,
    _user: Reader,
    requester: CityFilter = None,
    provider: CityFilter = None,
    status: RequestStatus | None = None,
    overdue: bool | None = None,
    on: Day = None,
) -> list[queries.RequestView]:
    """Requests with their deadline (working days) and whether they are overdue."""
    engine = _parts(request).projector.engine
    return queries.requests(engine, requester, provider, status=status, overdue=overdue, today=on)


@router.get("/requests/incoming")
def requests_to_me(
    request: Request,
    _user: Reader,
    status: RequestStatus | None = None,
    overdue: bool | None = None,
    on: Day = None,
) -> list[queries.RequestView]:
    """Requests for this city's entries, to decide (待审批) and decided."""
    parts = _parts(request)
    return queries.requests(
        parts.projector.engine,
        provider=parts.config.city,
        status=status,
        overdue=overdue,
        today=on,
    )


@router.get("/requests/outgoing")
def requests_from_me(
    request: Request,
    _user: Reader,
    status: RequestStatus | None = None,
    overdue: bool | None = None,
    on: Day = None,
) -> list[queries.RequestView]:
    """This city's requests to the other members."""
    parts = _parts(request)
    return queries.requests(
        parts.projector.engine,
        requester=parts.config.city,
        status=status,
        overdue=overdue,
        today=on,
    )


@router.get("/requests/{city}/{n}")
def get_request(
    request: Request, _user: Reader, city: City, n: Number, on: Day = None
) -> queries.RequestView:
    request_id = f"data-request/{city}/{n}"
    view = queries.request(_parts(request).projector.engine, request_id, on)
    return _found(view, request_id)


@router.post("/requests", status_code=201)
def file_request(request: Request, user: Manager, body: RequestFields) -> Written:
    """File a request for another member's entry; 无条件共享 ones are approved at once."""
    return Written(id=actions.file_request(_parts(request), user, body))


@router.post("/requests/{city}/{n}/withdraw")
def withdraw_request(
    request: Request, user: Manager, city: City, n: Number, body: Withdrawal
) -> Written:
    request_id = f"data-request/{city}/{n}"
    return Written(id=actions.withdraw_request(_parts(request), user, request_id, body.reason))


@router.post("/requests/{city}/{n}/approve", status_code=201)
def approve(request: Request, user: Manager, city: City, n: Number, body: ApprovalTerms) -> Written:
    """The provider approves; terms left out are the request's, given ones may only narrow
    it. Returns the agreement."""
    request_id = f"data-request/{city}/{n}"
    return Written(id=actions.approve_request(_parts(request), user, request_id, body))


@router.post("/requests/{city}/{n}/refuse", status_code=201)
def refuse(request: Request, user: Manager, city: City, n: Number, body: RefusalBody) -> Written:
    """The provider refuses, with its reason."""
    request_id = f"data-request/{city}/{n}"
    return Written(id=actions.refuse_request(_parts(request), user, request_id, body.reason))


# --- agreements -----------------------------------------------------------------------------

AgreementStatus = Literal["active", "suspended", "revoked", "expired", "not-yet-valid"]


@router.get("/agreements")
def list_agreements(
    request: Request,
    _user: Reader,
    provider: CityFilter = None,
    requester: CityFilter = None,
    status: AgreementStatus | None = None,
    on: Day = None,
) -> list[queries.AgreementView]:
    """Agreements with their status on the day asked about."""
    engine = _parts(request).projector.engine
    return queries.agreements(engine, provider, requester, status, on)


@router.get("/agreements/{city}/{n}")
def get_agreement(
    request: Request, _user: Reader, city: City, n: Number, on: Day = None
) -> queries.AgreementView:
    agreement_id = f"data-agreement/{city}/{n}"
    view = queries.agreement(_parts(request).projector.engine, agreement_id, on)
    return _found(view, agreement_id)


@router.post("/agreements/{city}/{n}/suspend")
def suspend(request: Request, user: Manager, city: City, n: Number, body: ReasonBody) -> Written:
    agreement_id = f"data-agreement/{city}/{n}"
    parts = _parts(request)
    return Written(id=actions.suspend_agreement(parts, user, agreement_id, body.reason))


@router.post("/agreements/{city}/{n}/resume")
def resume(request: Request, user: Manager, city: City, n: Number, body: ReasonBody) -> Written:
    agreement_id = f"data-agreement/{city}/{n}"
    parts = _parts(request)
    return Written(id=actions.resume_agreement(parts, user, agreement_id, body.reason))


@router.post("/agreements/{city}/{n}/revoke")
def revoke(request: Request, user: Manager, city: City, n: Number, body: ReasonBody) -> Written:
    agreement_id = f"data-agreement/{city}/{n}"
    parts = _parts(request)
    return Written(id=actions.revoke_agreement(parts, user, agreement_id, body.reason))


@router.post("/agreements/{city}/{n}/acknowledge", status_code=201)
def acknowledge(request: Request, user: Manager, city: City, n: Number) -> Written:
    """The requester records the agreement in its log (the node does so by itself)."""
    agreement_id = f"data-agreement/{city}/{n}"
    return Written(id=actions.acknowledge_agreement(_parts(request), user, agreement_id))
