"""联席会议 (the joint meetings): the chair and its terms, the leading group and task forces,
each meeting with its agenda, attendees, minutes, resolutions and what they led to."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lunan.governance import queries as gov
from lunan.web.pages import render
from lunan.web.pages.deps import Reader, not_found

router = APIRouter(include_in_schema=False)

CITY = re.compile(r"^\d{6}$")


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, _user: Reader) -> HTMLResponse:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    return render.render(
        request,
        "meetings.html",
        {
            "active": "meetings",
            "meetings": list(reversed(gov.meetings(engine))),
            "chair_view": gov.chair(engine, parts.alliance),
            "bodies": gov.bodies(engine, include_dissolved=False),
        },
    )


@router.get("/meetings/{city}/{n}", response_class=HTMLResponse)
def meeting_page(request: Request, city: str, n: str, _user: Reader) -> HTMLResponse:
    engine = render.parts_of(request).projector.engine
    meeting = None
    if CITY.match(city) and n.isdigit() and len(n) < 16:
        meeting = gov.meeting(engine, f"meeting/{city}/{int(n)}")
    if meeting is None:
        raise not_found(f"会议 meeting/{city}/{n} 不存在")
    created = gov.created_from(engine, meeting.id)
    by_resolution: dict[str, list[gov.CreatedItem]] = {}
    for item in created:
        by_resolution.setdefault(item.resolution, []).append(item)
    titles = _titles(request, [c.object for c in created])
    return render.render(
        request,
        "meeting.html",
        {
            "active": "meetings",
            "meeting": meeting,
            "created": by_resolution,
            # Items whose free-text source names a resolution the minutes do not list.
            "others": {
                k: v
                for k, v in by_resolution.items()
                if k not in {r.id for r in meeting.resolutions}
            },
            "titles": titles,
        },
    )


def _titles(request: Request, objects: list[str]) -> dict[str, str]:
    """What to call each linked task or agreement: its number and title."""
    from lunan.coop import queries as coop

    engine = render.parts_of(request).projector.engine
    out = {}
    for obj in objects:
        if obj.startswith("task/"):
            task = coop.get_task(engine, obj)
            if task is not None:
                out[obj] = f"{task.fields.number} {task.fields.title}"
        elif obj.startswith("agreement/"):
            agreement = gov.agreement(engine, obj)
            if agreement is not None:
                out[obj] = agreement.title
    return out
