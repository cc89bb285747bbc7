"""RFC 9530 Content-Digest, and the RFC 8941 Structured Field Values it is written in.

``Content-Digest`` is a structured-field Dictionary whose members are Byte Sequences,
``sha-256=:<base64>:``. We send sha-256 and accept sha-256 and sha-512; every member with
one of those two keys must match the content, members with other keys are ignored
(RFC 9530 §2 lets a recipient ignore algorithms it does not support), and a field with
neither key is refused, so an unknown or weak algorithm can never be the only check.

The Structured Field Values code below (RFC 8941 §3–4, parse and strict serialisation of
Dictionaries, Inner Lists, Items and Parameters) is also what ``lunan.net.signatures`` uses
for Signature-Input and Signature. It is our own rather than a library's: ``http-sfv``
0.9.9 is marked inactive upstream, and the part these three fields need is small enough to
be tested exactly against the RFCs' examples. RFC 9651's later additions (Dates, Display
Strings) are not accepted: none of these fields use them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

# --------------------------------------------------------------------------------------------
# Structured Field Values (RFC 8941)
# --------------------------------------------------------------------------------------------


class StructuredFieldError(ValueError):
    """Text is not a valid structured field, or a value cannot be serialised as one."""


class Token(str):
    """An sf-token (a bare word such as ``joy``), to tell it apart from an sf-string."""

    __slots__ = ()


# Token is a str subclass and bool an int subclass: serialisation checks them first.
BareItem = bool | int | Decimal | Token | str | bytes


@dataclass(frozen=True)
class Item:
    """A bare item with its (ordered) parameters."""

    value: BareItem
    params: Mapping[str, BareItem] = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    """A parenthesised list of items, with its own (ordered) parameters."""

    items: tuple[Item, ...]
    params: Mapping[str, BareItem] = field(default_factory=dict)


Member = Item | InnerList

_MAX_INTEGER = 999_999_999_999_999
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TCHAR = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
_TOKEN = re.compile(r"[A-Za-z*][" + re.escape(_TCHAR) + r":/]*")
_BASE64_CHARS = frozenset(string.ascii_letters + string.digits + "+/=")
_OWS = " \t"
_DIGITS = frozenset(string.digits)
_ALPHA = frozenset(string.ascii_letters)


def _short(s: str) -> str:
    """repr() of untrusted input, cut short so error messages stay one readable line."""
    return repr(s) if len(s) <= 40 else repr(s[:37]) + "..."


class _Parser:
    """RFC 8941 §4.2 parsing, one pass over the text."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, what: str) -> StructuredFieldError:
        rest = self.s[self.i :]
        where = f"at {_short(rest)}" if rest else "at the end"
        return StructuredFieldError(f"{what} {where} (offset {self.i})")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip(self, chars: str) -> None:
        while self.i < len(self.s) and self.s[self.i] in chars:
            self.i += 1

    def dictionary(self) -> dict[str, Member]:
        out: dict[str, Member] = {}
        while self.i < len(self.s):
            key = self.key()
            member: Member
            if self.peek() == "=":
                self.i += 1
                member = self.item_or_inner_list()
            else:
                member = Item(True, self.parameters())
            out[key] = member  # a repeated key overwrites the value in place (§4.2.2)
            self.skip(_OWS)
            if self.i == len(self.s):
                return out
            if self.peek() != ",":
                raise self.fail("expected ',' between dictionary members")
            self.i += 1
            self.skip(_OWS)
            if self.i == len(self.s):
                raise self.fail("trailing comma")
        return out

    def item_or_inner_list(self) -> Member:
        return self.inner_list() if self.peek() == "(" else self.item()

    def inner_list(self) -> InnerList:
        self.i += 1  # "("
        items: list[Item] = []
        while self.i < len(self.s):
            self.skip(" ")
            if self.peek() == ")":
                self.i += 1
                return InnerList(tuple(items), self.parameters())
            items.append(self.item())
            if self.peek() not in (" ", ")"):
                raise self.fail("expected a space or ')' in inner list")
        raise self.fail("inner list is not closed")

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.parameters())

    def parameters(self) -> dict[str, BareItem]:
        params: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.i += 1
            self.skip(" ")
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            params[key] = value
        return params

    def key(self) -> str:
        m = _KEY.match(self.s, self.i)
        if not m:
            raise self.fail("expected a key (lowercase letter or '*')")
        self.i = m.end()
        return m.group()

    def bare_item(self) -> BareItem:
        c = self.peek()
        if c == "-" or c in _DIGITS:
            return self.number()
        if c == '"':
            return self.string()
        if c == "*" or c in _ALPHA:
            return self.token()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            return self.boolean()
        raise self.fail("expected an item")

    def number(self) -> int | Decimal:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        if self.peek() not in _DIGITS:
            raise self.fail("expected a digit")
        digits_start = self.i
        is_decimal = False
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in _DIGITS:
                self.i += 1
            elif c == "." and not is_decimal:
                if self.i - digits_start > 12:
                    raise self.fail("decimal has more than 12 integer digits")
                is_decimal = True
                self.i += 1
            else:
                break
            if self.i - digits_start > (16 if is_decimal else 15):
                raise self.fail("number is too long")
        text = self.s[start : self.i]
        if not is_decimal:
            return int(text)
        if text.endswith("."):
            raise self.fail("decimal ends with '.'")
        if len(text) - text.index(".") - 1 > 3:
            raise self.fail("decimal has more than 3 fractional digits")
        return Decimal(text)

    def string(self) -> str:
        self.i += 1  # opening quote
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            self.i += 1
            if c == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\"):
                    raise self.fail("bad escape in string")
                out.append(nxt)
                self.i += 1
            elif c == '"':
                return "".join(out)
            elif not " " <= c <= "~":
                self.i -= 1
                raise self.fail("string holds a character outside printable ASCII")
            else:
                out.append(c)
        raise self.fail("string is not closed")

    def token(self) -> Token:
        m = _TOKEN.match(self.s, self.i)
        assert m is not None  # bare_item checked the first character
        self.i = m.end()
        return Token(m.group())

    def byte_sequence(self) -> bytes:
        self.i += 1  # opening colon
        end = self.s.find(":", self.i)
        if end < 0:
            raise self.fail("byte sequence is not closed")
        b64 = self.s[self.i : end]
        if not _BASE64_CHARS.issuperset(b64):
            raise self.fail("byte sequence is not base64")
        # §4.2.7: parsers should not fail on missing padding or non-zero pad bits.
        stripped = b64.rstrip("=")
        try:
            value = binascii.a2b_base64(stripped + "=" * (-len(stripped) % 4), strict_mode=True)
        except binascii.Error:
            raise self.fail("byte sequence is not base64") from None
        self.i = end + 1
        return value

    def boolean(self) -> bool:
        self.i += 1  # "?"
        c = self.peek()
        if c not in ("0", "1"):
            raise self.fail("boolean must be ?0 or ?1")
        self.i += 1
        return c == "1"


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse a Dictionary field value (RFC 8941 §4.2.2). Empty text is an empty Dictionary."""
    parser = _Parser(text.strip(_OWS))
    return parser.dictionary()


def serialize_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise StructuredFieldError(f"{_short(key)} is not a structured-field key")
    return key


def serialize_bare_item(value: BareItem) -> str:
    """Strict serialisation of one bare item (RFC 8941 §4.1.3)."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise StructuredFieldError(f"integer {value} is outside ±{_MAX_INTEGER}")
        return str(value)
    if isinstance(value, Decimal):
        return _serialize_decimal(value)
    if isinstance(value, Token):
        if not _TOKEN.fullmatch(value):
            raise StructuredFieldError(f"{_short(value)} is not a structured-field token")
        return str(value)
    if isinstance(value, str):
        if any(not " " <= c <= "~" for c in value):
            raise StructuredFieldError(
                f"string {_short(value)} holds a character outside printable ASCII"
            )
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    raise StructuredFieldError(f"{type(value).__name__} is not a structured-field item")


def _serialize_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise StructuredFieldError(f"decimal {value} is not finite")
    rounded = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    if abs(rounded) >= Decimal(10**12):
        raise StructuredFieldError(f"decimal {value} has more than 12 integer digits")
    text = format(rounded, "f").rstrip("0")
    return text + "0" if text.endswith(".") else text


def serialize_params(params: Mapping[str, BareItem]) -> str:
    out = []
    for key, value in params.items():
        out.append(";" + serialize_key(key))
        if value is not True:
            out.append("=" + serialize_bare_item(value))
    return "".join(out)


def serialize_item(item: Item) -> str:
    return serialize_bare_item(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    body = " ".join(serialize_item(item) for item in inner.items)
    return f"({body}){serialize_params(inner.params)}"


def serialize_member(member: Member) -> str:
    if isinstance(member, InnerList):
        return serialize_inner_list(member)
    return serialize_item(member)


def serialize_dictionary(members: Mapping[str, Member]) -> str:
    """Strict serialisation of a Dictionary (RFC 8941 §4.1.2)."""
    out = []
    for key, member in members.items():
        if isinstance(member, Item) and member.value is True:
            out.append(serialize_key(key) + serialize_params(member.params))
        else:
            out.append(serialize_key(key) + "=" + serialize_member(member))
    return ", ".join(out)


# --------------------------------------------------------------------------------------------
# Content-Digest (RFC 9530)
# --------------------------------------------------------------------------------------------

_ALGORITHMS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


class DigestError(ValueError):
    """A Content-Digest field is missing, malformed, unusable or does not match the content."""


def content_digest(body: bytes) -> str:
    """The Content-Digest field value for `body`: ``sha-256=:<base64 of SHA-256(body)>:``."""
    return serialize_dictionary({"sha-256": Item(hashlib.sha256(body).digest())})


def check_content_digest(header: str | None, body: bytes) -> None:
    """Raise DigestError unless the Content-Digest field value `header` matches `body`.

    Every sha-256 and sha-512 member must match; other members are ignored; at least one of
    the two must be present.
    """
    if header is None or not header.strip(_OWS):
        raise DigestError("Content-Digest is missing")
    try:
        members = parse_dictionary(header)
    except StructuredFieldError as e:
        raise DigestError(f"Content-Digest is malformed: {e}") from None
    checked = 0
    for name, hash_function in _ALGORITHMS.items():
        member = members.get(name)
        if member is None:
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestError(f"Content-Digest is malformed: {name} is not a byte sequence")
        expected = hash_function(body).digest()
        if len(member.value) != len(expected):
            raise DigestError(
                f"Content-Digest is malformed: {name} digest is {len(member.value)} bytes, "
                f"not {len(expected)}"
            )
        if not hmac.compare_digest(member.value, expected):
            raise DigestError(f"Content-Digest does not match the content ({name})")
        checked += 1
    if not checked:
        raise DigestError("Content-Digest has no sha-256 or sha-512 member")
