"""Submitting our checkpoint to the other members' witnesses: one witness's odd answer
keeps none of the others waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import make_node

from lunan.crypto import note
from lunan.federation import cosigned
from lunan.federation.peer import Peer, PeerError, Response
from lunan.federation.submitter import Submitter, WitnessPeer
from lunan.log import Log, cosignature, open_log
from lunan.log import checkpoint as cp
from lunan.log.witness import parse_request

SIZE = "text/x.tlog.size"


class WitnessAnswering(Peer):
    """A member's witness that cosigns what it is sent, or answers 409 with `body`."""

    def __init__(self, signer: note.Signer, conflict: bytes | None = None) -> None:
        super().__init__("http://witness.invalid")
        self.signer, self.conflict, self.asked = signer, conflict, 0

    def request(self, method: str, path: str, body: bytes = b"") -> Response:
        self.asked += 1
        if self.conflict is not None:
            return Response(409, {"content-type": SIZE}, self.conflict)
        signed = parse_request(body).checkpoint
        text = cp.parse_body(note.parse_note(signed).text).body()
        line = cosignature.cosign(text, self.signer, 1_700_000_000)
        return Response(200, {}, line.line().encode())


def witness(name: str, conflict: bytes | None = None) -> WitnessPeer:
    signer = note.Signer(name, Ed25519PrivateKey.generate(), note.COSIGNATURE_V1)
    return WitnessPeer(name, note.parse_vkey(signer.vkey()), WitnessAnswering(signer, conflict))


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    with open_log(make_node(tmp_path)) as the_log:
        the_log.append([b"an entry"])
        yield the_log


@pytest.mark.parametrize(
    "answer", [b"not a size\n", b"\xff\xfe", b"-3\n", b"9223372036854775808\n"], ids=repr
)
def test_a_witness_409_without_a_usable_size_is_its_error_alone(log: Log, answer: bytes) -> None:
    odd, fine = witness("lunan/370400/witness", answer), witness("lunan/370800/witness")
    with pytest.raises(PeerError, match=r"^witness lunan/370400/witness: 409 with"):
        Submitter(log, [odd, fine]).submit()
    assert fine.peer.asked == 1  # type: ignore[attr-defined]
    assert cosigned.last_cosigned(log.engine, log.store.log_id, fine.verifier.name) == 2
