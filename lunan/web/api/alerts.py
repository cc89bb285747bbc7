"""The node's alerts (fork evidence above all) and their resolution by an administrator.

Reads need any signed-in user; resolving needs the node administrator's permission
(`users.manage`, role admin): alerts are node-local, like users. The action is
lunan.federation.alerts.resolve; resolving a fork alert lets the follower try that member again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import CurrentUser, require
from lunan.federation import alerts
from lunan.web.api.common import node_parts

router = APIRouter(prefix="/api/v1/alerts", tags=["alliance"])

# Alerts concern the node itself: only its administrator decides about them.
Administrator = Annotated[User, Depends(require(Permission.MANAGE_USERS))]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the alert's id")]


class AlertOut(BaseModel):
    id: int
    origin: str = Field(description="the log concerned; `-` for a refused request")
    city: str | None = Field(description="the member whose log it is, from the alliance file")
    name: str | None
    kind: str = Field(description="`fork`, `witness-ahead` or `refused-request`")
    detail: str
    evidence: list[str] = Field(description="the signed checkpoints kept as evidence")
    created_at: str
    state: Literal["open", "resolved"]
    stops_following: bool = Field(description="an open fork alert: the member is not followed")
    resolved_at: str | None
    resolved_by: str | None = Field(description="the user (web) or OS user (cli) who resolved it")
    resolved_via: Literal["cli", "web"] | None
    note: str | None = Field(description="what was found and decided")


class AlertList(BaseModel):
    alerts: list[AlertOut]


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(max_length=alerts.MAX_NOTE, description="what was found and decided")


def _members(request: Request) -> alerts.Members:
    return alerts.members_of(node_parts(request).alliance)


def _out(alert: alerts.Alert) -> AlertOut:
    return AlertOut.model_validate(alert.to_json())


@router.get("")
def list_alerts(
    request: Request,
    _user: CurrentUser,
    state: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AlertList:
    """The newest `limit` alerts in that state, oldest first, with their evidence."""
    engine = node_parts(request).log.engine
    found = alerts.list_alerts(engine, state, _members(request), limit)
    return AlertList(alerts=[_out(a) for a in found])


@router.post("/{alert_id}/resolve")
def resolve_alert(
    request: Request, alert_id: AlertId, body: ResolveIn, user: Administrator
) -> AlertOut:
    """Resolve an open alert with a note (who and when are recorded); the evidence stays."""
    engine = node_parts(request).log.engine
    return _out(alerts.resolve(engine, alert_id, body.note, user.name, "web", _members(request)))
