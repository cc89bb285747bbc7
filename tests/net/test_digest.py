"""Content-Digest (RFC 9530) and the structured-field code under it (RFC 8941).

Where the values come from:
- RFC 9530 Appendix B.1 (Figure 12) gives ``sha-256=:RK/0qy18...:`` for the JSON object
  ``{"hello": "world"}`` followed by an LF (19 bytes); RFC 9530 §2 shows the sha-512 of
  the same content, ``sha-512=:YMAam51J...:`` (read from rfcinfo.com's copy of the RFC).
- RFC 9421 Appendix B.2's test-request carries ``sha-512=:WZDPaVn/...:`` for its 18-byte
  body ``{"hello": "world"}`` (no LF), copied from the httpwg/http-extensions source of the
  draft that became RFC 9421 (its B.2.6 text matches the published RFC).
- The Dictionary examples are RFC 8941 §3.2's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunan.net.digest import (
    BareItem,
    DigestError,
    InnerList,
    Item,
    StructuredFieldError,
    Token,
    check_content_digest,
    content_digest,
    parse_dictionary,
    serialize_bare_item,
    serialize_dictionary,
)

# RFC 9530 Appendix B: "the JSON object {"hello": "world"} followed by an LF".
RFC9530_CONTENT = b'{"hello": "world"}\n'
RFC9530_SHA256 = "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
RFC9530_SHA512 = (
    "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCs"
    "yRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:"
)
# RFC 9421 Appendix B.2, test-request: 18-byte body and its Content-Digest.
RFC9421_BODY = b'{"hello": "world"}'
RFC9421_SHA512 = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+T"
    "aPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
)


def _error(header: str | None, body: bytes) -> str:
    with pytest.raises(DigestError) as info:
        check_content_digest(header, body)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- RFC examples ---------------------------------------------------------------------------


def test_content_digest_reproduces_rfc9530_sha256_example() -> None:
    assert content_digest(RFC9530_CONTENT) == RFC9530_SHA256


def test_rfc9530_sha256_and_sha512_examples_are_accepted() -> None:
    check_content_digest(RFC9530_SHA256, RFC9530_CONTENT)
    check_content_digest(RFC9530_SHA512, RFC9530_CONTENT)
    check_content_digest(f"{RFC9530_SHA256}, {RFC9530_SHA512}", RFC9530_CONTENT)


def test_rfc9421_test_request_digest_is_accepted_for_its_body() -> None:
    check_content_digest(RFC9421_SHA512, RFC9421_BODY)


def test_the_lf_matters() -> None:
    assert "does not match" in _error(RFC9530_SHA256, RFC9421_BODY)
    assert "does not match" in _error(RFC9421_SHA512, RFC9530_CONTENT)


def test_empty_content_has_the_sha256_of_nothing() -> None:
    assert content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    check_content_digest(content_digest(b""), b"")


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_digest_is_refused(header: str | None) -> None:
    assert "missing" in _error(header, b"x")


@pytest.mark.parametrize(
    "header",
    [
        "sha-256",  # a boolean, not a byte sequence
        "sha-256=abc",  # a token
        'sha-256="RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg="',  # a string
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=",  # unclosed
        "sha-256=:!!!!:",
        "sha-256=:YQ==:",  # one byte, not 32
        "SHA-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",  # keys are lowercase
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:,",
        "sha-256=(:YQ==:)",
    ],
)
def test_malformed_digest_is_refused(header: str) -> None:
    assert "malformed" in _error(header, RFC9530_CONTENT)


@pytest.mark.parametrize(
    "header",
    ["md5=:HBxJBjkYSHyN/MdBuDAPzg==:", "unixsum=1234", "id-sha-256=:YQ==:", "sha=:YQ==:"],
)
def test_digest_without_sha256_or_sha512_is_refused(header: str) -> None:
    assert "no sha-256 or sha-512" in _error(header, RFC9530_CONTENT)


def test_mismatch_is_refused() -> None:
    assert "does not match" in _error(content_digest(b"other"), RFC9530_CONTENT)


def test_every_supported_member_must_match() -> None:
    # The sha-256 member matches; the sha-512 one is for the 18-byte body.
    assert "sha-512" in _error(f"{RFC9530_SHA256}, {RFC9421_SHA512}", RFC9530_CONTENT)


def test_unknown_members_and_parameters_are_ignored() -> None:
    check_content_digest(f"md5=:YQ==:, {RFC9530_SHA256};x=1, unixsum=3", RFC9530_CONTENT)


@given(st.binary(max_size=512))
def test_digest_of_any_body_checks(body: bytes) -> None:
    check_content_digest(content_digest(body), body)


@given(st.binary(min_size=1, max_size=512), st.data())
def test_any_flipped_byte_fails(body: bytes, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255))]) + body[i + 1 :]
    with pytest.raises(DigestError):
        check_content_digest(content_digest(body), flipped)


# --- structured fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ('en="Applepie", da=:w4ZibGV0w6ZydGU=:', None),
        ("a=?0, b, c; foo=bar", "a=?0, b, c;foo=bar"),
        ("rating=1.5, feelings=(joy sadness)", None),
        ("a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid", None),
    ],
)
def test_rfc8941_dictionary_examples_round_trip(text: str, canonical: str | None) -> None:
    assert serialize_dictionary(parse_dictionary(text)) == (canonical or text)


def test_rfc8941_dictionary_values() -> None:
    d = parse_dictionary('en="Applepie", da=:w4ZibGV0w6ZydGU=:')
    assert d == {"en": Item("Applepie"), "da": Item("Æbletærte".encode())}
    d = parse_dictionary("rating=1.5, feelings=(joy sadness)")
    assert d["rating"] == Item(Decimal("1.5"))
    assert d["feelings"] == InnerList((Item(Token("joy")), Item(Token("sadness"))))
    assert isinstance(d["feelings"], InnerList)
    assert all(isinstance(i.value, Token) for i in d["feelings"].items)
    assert parse_dictionary("a=?0, b, c; foo=bar")["c"] == Item(True, {"foo": Token("bar")})


def test_repeated_dictionary_key_keeps_the_last_value_in_place() -> None:
    assert serialize_dictionary(parse_dictionary("a=1,b=2,a=3")) == "a=3, b=2"


@pytest.mark.parametrize(
    "text",
    [
        "a=",
        "a=1,",
        "a=1 b=2",
        "A=1",
        "a=(1 2",
        "a=(1,2)",
        'a="unterminated',
        'a="bad \\x escape"',
        "a=1234567890123456",  # 16 digits
        "a=1.2345",
        "a=1.",
        "a=?2",
        "a=:YQ=:=:",
        "a=@1659578233",  # an RFC 9651 Date
        'a=%"display"',  # an RFC 9651 Display String
        "a=\u0663",  # a non-ASCII digit
    ],
)
def test_invalid_dictionaries_are_refused(text: str) -> None:
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)


def test_missing_base64_padding_is_tolerated() -> None:
    assert parse_dictionary("a=:YQ:") == {"a": Item(b"a")}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "?1"),
        (False, "?0"),
        (-42, "-42"),
        (Decimal("1.0005"), "1.0"),  # rounded half to even, to three places
        (Decimal("2.5"), "2.5"),
        (Decimal("-0.125"), "-0.125"),
        (Token("a:b/c"), "a:b/c"),
        ('say "hi" \\', '"say \\"hi\\" \\\\"'),
        (b"\x00\xff", ":AP8=:"),
    ],
)
def test_bare_items_serialise_strictly(value: BareItem, text: str) -> None:
    assert serialize_bare_item(value) == text


@pytest.mark.parametrize(
    "value",
    [10**15, "tab\there", "naïve", Token("1abc"), Decimal("1e12"), Decimal("NaN")],
)
def test_unserialisable_items_are_refused(value: int | Decimal | str) -> None:
    with pytest.raises(StructuredFieldError):
        serialize_bare_item(value)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,5}", fullmatch=True),
        st.one_of(
            st.integers(-(10**15) + 1, 10**15 - 1).map(Item),
            st.binary(max_size=20).map(Item),
            st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(Item),
            st.booleans().map(Item),
        ),
        max_size=5,
    )
)
def test_serialised_dictionaries_parse_back(members: dict[str, Item]) -> None:
    assert parse_dictionary(serialize_dictionary(members)) == members
