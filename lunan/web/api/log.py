"""JSON access to the log: entries and RFC 9162 proofs (hashes in standard base64)."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from lunan.log import Log, merkle, tiles
from lunan.web.log_tiles import IMMUTABLE
from lunan.web.problems import Problem

router = APIRouter(prefix="/api/v1/log", tags=["log"])

Index = Annotated[int, Query(ge=0, le=2**63 - 1)]
EntryIndex = Annotated[int, Path(ge=0, le=2**63 - 1)]


class LogInfo(BaseModel):
    origin: str
    size: int
    root: str
    vkey: str
    checkpoint: str


class SignedCheckpoint(BaseModel):
    size: int
    note: str


class Checkpoints(BaseModel):
    checkpoints: list[SignedCheckpoint]


class Entry(BaseModel):
    index: int
    entry: str
    leaf_hash: str


class InclusionProof(BaseModel):
    index: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(BaseModel):
    old: int
    new: int
    proof: list[str]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _log(request: Request) -> Log:
    log: Log = request.app.state.log
    return log


def _beyond(log: Log, detail: str) -> Problem:
    size = log.size()
    return Problem(
        404,
        "beyond-log-size",
        "超出日志规模 Beyond the log's size",
        f"{detail}: the log has {size} entries",
        log_size=size,
    )


def _within(log: Log, size: int, what: str) -> None:
    if size > log.size():
        raise _beyond(log, f"{what} {size} is larger than the log")


@router.get("")
def info(request: Request) -> LogInfo:
    log = _log(request)
    size = log.size()
    return LogInfo(
        origin=log.signer.name,
        size=size,
        root=_b64(log.store.root(size)),
        vkey=log.signer.vkey(),
        checkpoint=log.checkpoint(),
    )


@router.get("/checkpoints")
def checkpoints(
    request: Request,
    after: Annotated[int, Query(ge=-1, le=2**63 - 1)] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> Checkpoints:
    """Every checkpoint the log signed, oldest first: a follower replays them to catch up, and
    an auditor checks that each one is consistent with the next."""
    rows = _log(request).store.checkpoints_after(after, limit)
    return Checkpoints(checkpoints=[SignedCheckpoint(size=s, note=n) for s, n in rows])


@router.get(
    "/entries",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def entry_range(request: Request, begin: Index, end: Index) -> Response:
    """Entries [begin, end), at most 4,096 of them, in the tlog-tiles entry-bundle encoding
    (each entry after its big-endian uint16 length): a follower catching up fetches 16 tiles'
    worth in one round trip. Nothing here is trusted: the follower recomputes every root."""
    log = _log(request)
    if not begin < end <= begin + tiles.MAX_RANGE:
        raise Problem(
            400,
            "bad-range",
            "范围无效 Bad range",
            f"ask for 1 to {tiles.MAX_RANGE} entries (begin < end), got {begin}–{end}",
        )
    _within(log, end, "end")
    data = log.store.encoded_entries(begin, end)
    return Response(
        data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
    )


@router.get("/entries/{index}")
def entry(index: EntryIndex, request: Request) -> Entry:
    log = _log(request)
    if index >= log.size():
        raise _beyond(log, f"entry {index} does not exist")
    data = log.store.entries(index, index + 1)[0]
    return Entry(index=index, entry=_b64(data), leaf_hash=_b64(merkle.leaf_hash(data)))


@router.get("/proof/inclusion")
def inclusion(request: Request, index: Index, size: Index | None = None) -> InclusionProof:
    log = _log(request)
    size = log.size() if size is None else size
    _within(log, size, "size")
    if index >= size:
        raise Problem(
            400,
            "index-out-of-range",
            "索引超出范围 Index out of range",
            f"index {index} is not below size {size}",
        )
    proof = log.store.inclusion_proof(index, size)
    return InclusionProof(
        index=index,
        size=size,
        leaf_hash=_b64(log.store.leaf_hash(index)),
        proof=[_b64(p) for p in proof],
    )


@router.get("/proof/consistency")
def consistency(request: Request, old: Index, new: Index | None = None) -> ConsistencyProof:
    log = _log(request)
    new = log.size() if new is None else new
    _within(log, new, "new size")
    if not 0 < old <= new:
        raise Problem(
            400,
            "bad-sizes",
            "规模参数无效 Bad sizes",
            f"a consistency proof needs 0 < old ≤ new, got old={old}, new={new}",
        )
    proof = log.store.consistency_proof(old, new)
    return ConsistencyProof(old=old, new=new, proof=[_b64(p) for p in proof])
