"""What the JSON API modules share: the node's parts of a request, and a 404 for a missing
object."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request

from lunan.events.errors import NotFound
from lunan.services import NodeParts

V = TypeVar("V")


def node_parts(request: Request) -> NodeParts:
    """The parts of the node serving `request` (set on the app by create_app)."""
    parts: NodeParts = request.app.state.parts
    return parts


def found(view: V | None, object_id: str) -> V:
    """`view`, or NotFound (404) naming `object_id` if there is none."""
    if view is None:
        raise NotFound(f"{object_id}不存在 {object_id} does not exist")
    return view
