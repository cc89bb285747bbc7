"""Signed notes against the C2SP / Go sumdb vectors in tests/vectors/signed_note.json."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from lunan.crypto.note import (
    COSIGNATURE_V1,
    ED25519,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    Verifier,
    add_signatures,
    check_key_name,
    format_vkey,
    key_id,
    open_note,
    parse_go_private_key,
    parse_note,
    parse_vkey,
    sign_note,
)

VECTORS_DIR = Path(__file__).parent.parent / "vectors"
VECTORS: dict[str, dict[str, Any]] = {
    v["id"]: v for v in json.loads((VECTORS_DIR / "signed_note.json").read_text())["vectors"]
}
PETER = VECTORS["go-sumdb-note-peterneumann"]
TWO = VECTORS["go-sumdb-note-two-signers"]
NEGATIVE = VECTORS["go-sumdb-note-negative"]
C2SP = VECTORS["c2sp-signed-note-example"]
VKEY_CHECKS = VECTORS["vkey-key-id-checks"]

TEXT: str = PETER["note_text"]
PETER_SIGNED: str = PETER["signed_note"]
PETER_LINE = PETER_SIGNED[len(TEXT) + 1 :]
PETER_SIGNER = parse_go_private_key(PETER["signer_key"])
PETER_VERIFIER = parse_vkey(PETER["vkey"])
ENOCH_SIGNER = Signer(
    "EnochRoot", Ed25519PrivateKey.from_private_bytes(bytes.fromhex(TWO["enoch_seed_hex"]))
)
ENOCH_VERIFIER = parse_vkey(TWO["vkeys"][1])


def _must_reject_notes() -> list[Any]:
    cases = []
    for case in NEGATIVE["must_reject"]:
        if "note" in case:
            note = case["note"]
        else:
            # The only constructed case: 101 copies of a valid signature line.
            assert (
                case["note_construction"]
                == "note_text + '\\n' + 101 copies of the PeterNeumann signature line"
            )
            note = TEXT + "\n" + PETER_LINE * 101
        cases.append(pytest.param(note, id=case["why"]))
    return cases


# --- Go sumdb vectors -------------------------------------------------------------------


def test_go_private_key_yields_the_published_vkey() -> None:
    assert PETER_SIGNER.name == "PeterNeumann"
    assert PETER_SIGNER.key_id.hex() == "c74f20a3"
    assert PETER_SIGNER.vkey() == PETER["vkey"]


def test_signing_reproduces_go_signature_exactly() -> None:
    assert sign_note(TEXT, [PETER_SIGNER]) == PETER_SIGNED


def test_go_signed_note_verifies() -> None:
    note, verified = open_note(PETER_SIGNED, [PETER_VERIFIER])
    assert note.text == TEXT
    assert verified == (PETER_VERIFIER,)
    assert note.signatures == (
        NoteSignature("PeterNeumann", bytes.fromhex("c74f20a3"), note.signatures[0].signature),
    )
    assert len(note.signatures[0].signature) == 64


def test_all_zero_seed_gives_the_enoch_root_vkey() -> None:
    assert ENOCH_SIGNER.vkey() == TWO["vkeys"][1]


def test_two_signer_note_with_only_one_trusted_key_verifies_one() -> None:
    note, verified = open_note(TWO["signed_note"], [PETER_VERIFIER])
    assert verified == (PETER_VERIFIER,)
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]


def test_two_signer_note_with_both_keys_trusted_verifies_two() -> None:
    _, verified = open_note(TWO["signed_note"], [ENOCH_VERIFIER, PETER_VERIFIER])
    assert verified == (PETER_VERIFIER, ENOCH_VERIFIER)  # in note order


def test_two_signer_note_with_no_trusted_key_is_rejected() -> None:
    with pytest.raises(NoteError, match=r"^note has no verifiable signatures$"):
        open_note(TWO["signed_note"], [])


def test_signing_with_both_keys_reproduces_the_two_signer_note() -> None:
    assert sign_note(TEXT, [PETER_SIGNER, ENOCH_SIGNER]) == TWO["signed_note"]


@pytest.mark.parametrize("signed", _must_reject_notes())
def test_malformed_or_forged_notes_are_rejected(signed: str) -> None:
    with pytest.raises(NoteError) as excinfo:
        open_note(signed, [parse_vkey(NEGATIVE["vkey"])])
    message = str(excinfo.value)
    assert message and "\n" not in message


def test_all_eight_must_reject_vectors_are_exercised() -> None:
    assert len(_must_reject_notes()) == 8


def test_key_name_with_space_is_rejected_even_with_its_final_newline_restored() -> None:
    # The vector is also missing its final newline; with it, the name still ends at the
    # first space and "Name x08go..." is not base64.
    (case,) = [c for c in NEGATIVE["must_reject"] if c["why"] == "key name with space"]
    with pytest.raises(NoteError, match="not valid base64"):
        parse_note(case["note"] + "\n")


def test_one_hundred_signatures_are_accepted() -> None:
    _, verified = open_note(TEXT + "\n" + PETER_LINE * 100, [PETER_VERIFIER])
    assert verified == (PETER_VERIFIER,)


# --- C2SP example and vkey checks ---------------------------------------------------------


def test_c2sp_example_verifies_and_matches_its_extra_checks() -> None:
    verifier = parse_vkey(C2SP["vkey"])
    note, verified = open_note(C2SP["signed_note"], [verifier])
    assert note.text == "This is an example message.\n"
    assert verified == (verifier,)
    assert verifier.public_key.hex() == C2SP["extra_checks"]["pubkey_hex"]
    expected_id = C2SP["extra_checks"]["key_id"].split(" ")[0]
    assert verifier.key_id.hex() == expected_id
    # The formula, computed independently of key_id().
    digest = hashlib.sha256(b"example.com/foo\n\x01" + verifier.public_key).digest()
    assert digest[:4].hex() == expected_id
    assert key_id("example.com/foo", ED25519, verifier.public_key).hex() == expected_id


@pytest.mark.parametrize("case", VKEY_CHECKS["valid"], ids=lambda c: c["vkey"].split("+")[0])
def test_valid_vkeys_parse_with_their_type(case: dict[str, Any]) -> None:
    verifier = parse_vkey(case["vkey"])
    assert verifier.key_type == case["type"]
    assert format_vkey(verifier.name, verifier.key_type, verifier.public_key) == case["vkey"]


@pytest.mark.parametrize("vkey", VKEY_CHECKS["invalid"])
def test_invalid_vkeys_are_rejected(vkey: str) -> None:
    with pytest.raises(NoteError):
        parse_vkey(vkey)


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong id
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # 7 hex digits
        "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # int() would take
        "Peter+Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # '+' in name
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # empty name
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10Q",  # base64 padding
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",  # non-canonical
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW" + "AAAA",  # long
    ],
)
def test_vkeys_with_bad_ids_or_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(NoteError):
        parse_vkey(vkey)


def test_format_vkey_and_parse_vkey_roundtrip() -> None:
    for key_type in (ED25519, COSIGNATURE_V1):
        signer = Signer("witness.example/w1", ENOCH_SIGNER.private_key, key_type)
        vkey = format_vkey(signer.name, key_type, signer.public_key)
        assert vkey == signer.vkey()
        assert parse_vkey(vkey) == Verifier(signer.name, signer.key_id, key_type, signer.public_key)


def test_key_id_depends_on_the_signature_type() -> None:
    pub = ENOCH_SIGNER.public_key
    assert key_id("EnochRoot", ED25519, pub) != key_id("EnochRoot", COSIGNATURE_V1, pub)


@pytest.mark.parametrize(
    "key",
    [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # id
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # type
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",  # b64
        "PUBLIC+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
    ],
)
def test_bad_go_private_keys_are_rejected_without_echoing_the_secret(key: str) -> None:
    with pytest.raises(NoteError) as excinfo:
        parse_go_private_key(key)
    assert "AYEKFALVFGyNhPJEMzD1" not in str(excinfo.value)


# --- behaviour beyond the vectors ---------------------------------------------------------


def test_tampered_text_fails_verification() -> None:
    tampered = PETER_SIGNED.replace("your problem is", "your Problem is")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, [PETER_VERIFIER])


def test_known_key_with_bad_signature_rejects_the_note_even_beside_a_good_one() -> None:
    forged = NoteSignature("PeterNeumann", PETER_VERIFIER.key_id, ENOCH_SIGNER.sign(TEXT.encode()))
    signed = add_signatures(TWO["signed_note"], [forged])
    with pytest.raises(NoteError, match=r"signature by 'PeterNeumann'\+c74f20a3 does not verify"):
        open_note(signed, [PETER_VERIFIER, ENOCH_VERIFIER])


def test_unknown_key_sharing_a_name_or_id_is_ignored() -> None:
    # The spec: ignore signatures from unknown keys, even if they share a name or ID.
    imposters = [
        NoteSignature("PeterNeumann", b"\x00\x00\x00\x00", b"x" * 64),
        NoteSignature("Someone", PETER_VERIFIER.key_id, b"x" * 64),
    ]
    _, verified = open_note(add_signatures(PETER_SIGNED, imposters), [PETER_VERIFIER])
    assert verified == (PETER_VERIFIER,)


def test_add_signatures_appends_new_lines_and_drops_identical_ones() -> None:
    enoch_sig = NoteSignature("EnochRoot", ENOCH_SIGNER.key_id, ENOCH_SIGNER.sign(TEXT.encode()))
    two = add_signatures(PETER_SIGNED, [enoch_sig])
    assert two == TWO["signed_note"]
    peter_sig = parse_note(PETER_SIGNED).signatures[0]
    assert add_signatures(two, [peter_sig, enoch_sig]) == two


def test_add_signatures_refuses_to_exceed_the_signature_limit() -> None:
    sigs = [NoteSignature(f"k{i}", b"\x00" * 4, b"\x01") for i in range(100)]
    with pytest.raises(NoteError, match="at most 100"):
        add_signatures(PETER_SIGNED, sigs)


def test_text_may_contain_blank_lines_and_lines_that_look_like_signatures() -> None:
    text = "a\n\n— PeterNeumann AAAAAAA=\n\n"
    note, _ = open_note(sign_note(text, [PETER_SIGNER]), [PETER_VERIFIER])
    assert note.text == text


@pytest.mark.parametrize(
    "text",
    ["", "no final newline", "tab\there\n", "carriage return\r\n", "lone \ud800 surrogate\n"],
)
def test_invalid_texts_cannot_be_signed(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, [PETER_SIGNER])


@pytest.mark.parametrize(
    "name", ["", "has space", "ideographic\u3000space", "nb\u00a0sp", "a+b", "bell\x07", "\udc80"]
)
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(NoteError):
        check_key_name(name)


@pytest.mark.parametrize("name", ["Bad\u3000Name", "Bad+Name", "Bad\u2028Name"])
def test_signature_lines_with_invalid_key_names_are_rejected(name: str) -> None:
    signed = TEXT + "\n" + PETER_LINE.replace("PeterNeumann", name)
    with pytest.raises(NoteError, match="key name"):
        parse_note(signed)


def test_non_canonical_base64_signature_is_rejected() -> None:
    # Same bytes as the Go signature, but with non-zero padding bits ("AM=" -> "AN=").
    assert PETER_SIGNED.endswith("AM=\n")
    malleated = PETER_SIGNED[: -len("AM=\n")] + "AN=\n"
    assert base64.b64decode(malleated.split(" ")[-1]) == base64.b64decode(PETER_LINE.split(" ")[-1])
    with pytest.raises(NoteError, match="not canonical base64"):
        parse_note(malleated)


def test_signature_shorter_than_five_bytes_is_rejected() -> None:
    with pytest.raises(NoteError, match="shorter"):
        parse_note(
            TEXT + "\n— PeterNeumann " + base64.b64encode(PETER_VERIFIER.key_id).decode() + "\n"
        )


def test_cosignature_keys_cannot_sign_or_open_notes() -> None:
    cosigner = Signer("witness.example", ENOCH_SIGNER.private_key, COSIGNATURE_V1)
    with pytest.raises(NoteError, match="cosignature"):
        sign_note(TEXT, [cosigner])
    with pytest.raises(NoteError, match="cosignature"):
        open_note(PETER_SIGNED, [parse_vkey(cosigner.vkey())])


def test_cosignature_verifier_checks_the_message_it_is_given() -> None:
    cosigner = Signer("witness.example", ENOCH_SIGNER.private_key, COSIGNATURE_V1)
    verifier = parse_vkey(cosigner.vkey())
    message = b"cosignature/v1\ntime 1700000000\n" + TEXT.encode()
    signature = cosigner.sign(message)
    assert verifier.verify(message, signature)
    assert not verifier.verify(TEXT.encode(), signature)
    assert not verifier.verify(message, signature[:-1])


def test_ambiguous_verifiers_are_refused() -> None:
    clash = Verifier("PeterNeumann", PETER_VERIFIER.key_id, ED25519, ENOCH_SIGNER.public_key)
    with pytest.raises(NoteError, match="share the name"):
        open_note(PETER_SIGNED, [PETER_VERIFIER, clash])


def test_parsing_and_formatting_a_note_roundtrips() -> None:
    assert parse_note(TWO["signed_note"]).format() == TWO["signed_note"]
    with pytest.raises(NoteError):
        Note(TEXT, ())


# --- properties ---------------------------------------------------------------------------

# Any Unicode text without control characters other than newline (and no surrogates).
_note_chars = st.characters(
    exclude_categories=["Cs"], exclude_characters=[chr(c) for c in range(0x20) if c != 0x0A]
)
note_texts = st.text(_note_chars, max_size=200).map(lambda t: t + "\n")


@given(text=note_texts)
def test_signed_notes_open_to_the_same_text(text: str) -> None:
    signed = sign_note(text, [PETER_SIGNER])
    note, verified = open_note(signed, [PETER_VERIFIER])
    assert note.text == text
    assert verified == (PETER_VERIFIER,)


@given(text=note_texts, data=st.data())
def test_any_single_character_change_to_the_text_breaks_the_note(
    text: str, data: st.DataObject
) -> None:
    signed = sign_note(text, [PETER_SIGNER])
    i = data.draw(st.integers(0, len(text) - 1), label="index")
    replacement = data.draw(_note_chars.filter(lambda c: c != text[i]), label="replacement")
    changed = signed[:i] + replacement + signed[i + 1 :]
    with pytest.raises(NoteError):
        open_note(changed, [PETER_VERIFIER])
