"""Economic indicators: each city's figures per year, the alliance totals, spreadsheets.

Reads need any signed-in user (Permission.READ). A city's figures are written on its own node
by a user of that city holding Permission.PUBLISH_INDICATORS; the alliance's own figures only by
such a user of the current chair city. The writes are lunan.indicators.actions.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import require
from lunan.events.errors import NotFound
from lunan.indicators import actions, importer, queries
from lunan.indicators.events import FIRST_YEAR, LAST_YEAR, Figures
from lunan.services import NodeParts
from lunan.web.api.common import node_parts as _parts
from lunan.web.problems import bad_file

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])

Reader = Annotated[User, Depends(require(Permission.READ))]
Publisher = Annotated[User, Depends(require(Permission.PUBLISH_INDICATORS))]
CityPath = Annotated[str, Path(pattern=r"^\d{6}$", description="GB/T 2260 code, e.g. 371300")]
YearPath = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)]
YearQuery = Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR)]


class FiguresIn(Figures):
    """A city's figures for one year; `city` defaults to the user's own (any other: 403)."""

    city: str | None = Field(default=None, pattern=r"^\d{6}$")
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)

    def figures_only(self) -> Figures:
        return Figures(figures=self.figures, note=self.note, source=self.source)


class Written(BaseModel):
    id: str
    status: Literal["published", "revised", "unchanged"]
    set: queries.FigureSet


class ImportOut(BaseModel):
    rows: int
    published: list[str]
    revised: list[str]
    unchanged: list[str]


class BadCell(BaseModel):
    row: int | None = Field(description="spreadsheet row (headers are row 1); null: the file")
    column: str
    problem: str


def _members(parts: NodeParts) -> list[str]:
    return sorted(parts.projector.logs)


def _written(parts: NodeParts, object_id: str, status: str, scope: str = "city") -> Written:
    with parts.projector.engine.connect() as conn:
        found = [s for s in queries.figure_sets(conn, scope=scope) if s.id == object_id]
    return Written.model_validate({"id": object_id, "status": status, "set": found[0]})


# --- reads ------------------------------------------------------------------------------------


@router.get("/definitions")
def definitions(_user: Reader) -> list[queries.IndicatorInfo]:
    """The indicator set: keys, names, units, and whether values add up across cities."""
    return queries.indicator_infos()


@router.get("")
def list_figures(
    request: Request,
    _user: Reader,
    year: YearQuery = None,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> list[queries.FigureSet]:
    """The cities' published figures, by year then city."""
    with _parts(request).projector.engine.connect() as conn:
        return queries.figure_sets(conn, year=year, city=city)


@router.get("/totals")
def totals(request: Request, _user: Reader, year: YearQuery = None) -> list[queries.YearTotals]:
    """Per year and indicator: the members' sum and its growth where every member published
    (else null, naming who is missing), beside the alliance's own published figure."""
    parts = _parts(request)
    with parts.projector.engine.connect() as conn:
        return queries.totals(conn, _members(parts), year)


@router.get("/alliance")
def list_alliance(
    request: Request, _user: Reader, year: YearQuery = None
) -> list[queries.FigureSet]:
    """The alliance's own figures as the source publishes them (kept by the chair)."""
    with _parts(request).projector.engine.connect() as conn:
        return queries.figure_sets(conn, scope="alliance", year=year)


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {t: {} for t in importer.MEDIA_TYPES.values()}}},
)
def export(
    request: Request,
    _user: Reader,
    format: Literal["csv", "xlsx"] = "xlsx",
    year: YearQuery = None,
    city: Annotated[
        str | None,
        Query(pattern=r"^(\d{6}|all)$", description="a city code, or all; default this node's"),
    ] = None,
) -> Response:
    """The cities' figures as a spreadsheet in the import layout (re-imports unchanged)."""
    parts = _parts(request)
    wanted = None if city == "all" else (city or parts.config.city)
    with parts.projector.engine.connect() as conn:
        data = importer.export_file(conn, format, year=year, city=wanted)
    name = f"indicators-{wanted or 'all'}{f'-{year}' if year else ''}.{format}"
    return Response(
        data,
        media_type=importer.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{city}/{year}")
def get_figures(
    request: Request, _user: Reader, city: CityPath, year: YearPath
) -> queries.FigureSet:
    with _parts(request).projector.engine.connect() as conn:
        found = queries.figure_set(conn, city, year)
    if found is None:
        raise NotFound(f"{city}尚未发布{year}年指标 no figures of {city} for {year}")
    return found


# --- writes -----------------------------------------------------------------------------------


@router.post("", status_code=201)
def publish(request: Request, user: Publisher, body: FiguresIn) -> Written:
    """Publish the user's city's figures of a year (409 if published: revise them)."""
    parts = _parts(request)
    object_id = actions.publish_figures(parts, user, body.year, body.figures_only(), body.city)
    return _written(parts, object_id, "published")


@router.post("/{city}/{year}/revise")
def revise(
    request: Request, user: Publisher, city: CityPath, year: YearPath, body: Figures
) -> Written:
    """Replace the figures of a year of the user's city with those in the body."""
    parts = _parts(request)
    object_id, changed = actions.revise_figures(parts, user, city, year, body)
    return _written(parts, object_id, "revised" if changed else "unchanged")


@router.post("/import")
def import_file(
    request: Request,
    user: Publisher,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or XLSX, the export's layout")],
    year: Annotated[int | None, Form(ge=FIRST_YEAR, le=LAST_YEAR)] = None,
) -> ImportOut:
    """Import the user's city's figures: all rows or none; 422 lists every bad cell."""
    data = file.file.read(importer.MAX_BYTES + 1)
    try:
        result = actions.import_figures(_parts(request), user, data, year)
    except importer.ImportErrors as e:
        raise bad_file(e, BadCell) from e
    return ImportOut(
        rows=result.rows,
        published=result.published,
        revised=result.revised,
        unchanged=result.unchanged,
    )


@router.put("/alliance/{year}")
def put_alliance(request: Request, user: Publisher, year: YearPath, body: Figures) -> Written:
    """Publish or replace the alliance's own figures of a year (the chair city only)."""
    parts = _parts(request)
    object_id, status = actions.put_alliance_figures(parts, user, year, body)
    return _written(parts, object_id, status, scope="alliance")
