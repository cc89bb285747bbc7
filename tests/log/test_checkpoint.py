"""C2SP tlog-checkpoint bodies and their signatures."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lunan.crypto import note
from lunan.log import checkpoint as cp
from lunan.log.merkle import EMPTY_ROOT

SIGNER = note.Signer("lunan/371300", Ed25519PrivateKey.generate())


def test_a_checkpoint_body_is_origin_size_and_base64_root() -> None:
    body = cp.Checkpoint("lunan/371300", 0, EMPTY_ROOT).body()
    assert body == "lunan/371300\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert cp.parse_body(body) == cp.Checkpoint("lunan/371300", 0, EMPTY_ROOT)


@pytest.mark.parametrize(
    "body",
    [
        "lunan/371300\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "lunan/371300\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "lunan/371300\n1\nAAAA\n",
        "lunan/371300\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "lunan/371300\n1\n",
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(cp.CheckpointError):
        cp.parse_body(body)


def test_a_signed_checkpoint_opens_only_with_the_log_key() -> None:
    signed = cp.sign(cp.Checkpoint("lunan/371300", 7, b"\x07" * 32), SIGNER)
    verifier = note.parse_vkey(SIGNER.vkey())
    assert cp.open_signed(signed, verifier).size == 7
    other = note.Signer("lunan/371300", Ed25519PrivateKey.generate())
    with pytest.raises(cp.CheckpointError, match="signature"):
        cp.open_signed(signed, note.parse_vkey(other.vkey()))
    tampered = signed.replace("\n7\n", "\n8\n")
    with pytest.raises(cp.CheckpointError):
        cp.open_signed(tampered, verifier)


def test_a_checkpoint_whose_origin_is_not_the_key_name_is_refused() -> None:
    signer = note.Signer("lunan/370400", SIGNER.private_key)
    signed = cp.sign(cp.Checkpoint("lunan/371300", 1, b"\x01" * 32), signer)
    with pytest.raises(cp.CheckpointError, match="origin"):
        cp.open_signed(signed, note.parse_vkey(signer.vkey()))
