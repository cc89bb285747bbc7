"""C2SP tlog-tiles under /log/v1/: the checkpoint, hash tiles and entry bundles."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lunan.crypto import note
from lunan.federation.submitter import served_checkpoint
from lunan.log import Log, tiles
from lunan.web.problems import Problem

router = APIRouter(prefix="/log/v1", tags=["tlog-tiles"])

IMMUTABLE = "public, max-age=31536000, immutable"
PARTIAL = "public, max-age=60"  # a partial tile never changes, but a full one soon replaces it


def _witnesses(request: Request) -> list[note.Verifier]:
    """The other members' witness keys, when the node is in an alliance."""
    fed = request.app.state.federation
    if fed is None:
        return []
    witnesses: list[note.Verifier] = fed.witnesses_except(fed.config.city)
    return witnesses


def _log(request: Request) -> Log:
    log: Log = request.app.state.log
    return log


@router.get("/checkpoint")
def checkpoint(request: Request) -> Response:
    return Response(
        served_checkpoint(_log(request), _witnesses(request)),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/tile/{path:path}")
def tile(path: str, request: Request) -> Response:
    try:
        ref = tiles.parse_tile_path(path)
    except tiles.TilePathError as e:
        raise Problem(400, "bad-tile-path", "瓦片路径无效 Bad tile path", str(e)) from e
    log = _log(request)
    data = _entry_bundle(log, ref) if ref.level < 0 else log.store.served_tile(ref)
    if data is None:
        raise Problem(
            404,
            "tile-not-found",
            "瓦片不存在 No such tile",
            f"the log (size {log.size()}) has no tile {tiles.tile_path(ref)}",
        )
    cache = IMMUTABLE if ref.full else PARTIAL
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": cache})


def _entry_bundle(log: Log, ref: tiles.TileRef) -> bytes | None:
    begin = ref.index * tiles.TILE_WIDTH
    if begin + ref.width > log.size():
        return None
    return log.store.encoded_entries(begin, begin + ref.width)
