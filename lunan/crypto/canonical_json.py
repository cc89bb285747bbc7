"""RFC 8785 JSON Canonicalization Scheme (JCS), using the pinned `rfc8785` library.

JCS numbers are IEEE 754 doubles, so integers beyond ±(2**53-1) cannot be carried exactly:
we refuse them and ask for strings instead, rather than let them round silently.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1

_BIG_INTEGER = (
    "integer is outside ±(2**53-1), which JSON numbers (IEEE doubles) cannot hold exactly; "
    "send it as a string"
)


class CanonicalJSONError(ValueError):
    """A value cannot be canonicalized, or bytes are not acceptable JSON."""


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _has_unsafe_integer(value: object) -> bool:
    # Walks containers without recursion; `seen` guards against self-referencing lists.
    stack: list[object] = [value]
    seen: set[int] = set()
    while stack:
        v = stack.pop()
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_SAFE_INTEGER:
            return True
        if isinstance(v, dict | list | tuple) and id(v) not in seen:
            seen.add(id(v))
            stack.extend(v.values() if isinstance(v, dict) else v)
    return False


def _plain(value: object) -> bool:
    """Whether json.dumps writes `value` exactly as JCS does: no floats (JCS formats doubles
    its own way), integers within ±(2**53-1), str keys, and no key with a character beyond
    the BMP (JCS sorts keys by UTF-16 code units, Python by code points: the two orders differ
    only there). Other types, tuples and cycles are left to rfc8785 and its errors."""
    stack: list[object] = [value]
    seen: set[int] = set()
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if abs(v) > MAX_SAFE_INTEGER:  # type: ignore[arg-type]
                return False
        elif t is dict or t is list:
            if id(v) in seen:
                return False
            seen.add(id(v))
            if t is list:
                stack.extend(v)  # type: ignore[arg-type]
                continue
            for k, x in v.items():  # type: ignore[attr-defined]
                if type(k) is not str or (not k.isascii() and max(k) > "\uffff"):
                    return False
                stack.append(x)
        else:
            return False
    return True


def canonical_json(value: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value` (dicts, lists, str, int, float, bool, None)."""
    if _plain(value):
        # The common case (events, notes, API bodies) in C: several times faster than the
        # rfc8785 library's pure-Python writer, byte for byte the same (tested against it).
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
            return text.encode("utf-8")
        except (ValueError, RecursionError):
            pass  # a lone surrogate, or nesting too deep: rfc8785 says what is wrong
    try:
        # rfc8785 checks types at run time, so any object may be passed.
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except RecursionError:
        raise CanonicalJSONError("value is nested too deeply (or contains itself)") from None
    except ValueError as e:
        # Besides rfc8785's own errors this catches the ValueError Python raises when
        # rfc8785 tries to print a huge integer into its error message, hence the walk.
        if isinstance(e, rfc8785.IntegerDomainError) or _has_unsafe_integer(value):
            raise CanonicalJSONError(_BIG_INTEGER) from None
        raise CanonicalJSONError(f"value cannot be canonicalized: {_one_line(e)}") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise CanonicalJSONError(f"duplicate object key {key!r:.60}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> NoReturn:
    raise CanonicalJSONError(f"{name} is not allowed in JSON")


def _parse_int(s: str) -> int | float:
    # Length first: Python's int() refuses over 4300 digits, and JCS writes no more than 21.
    if len(s) <= 22:
        n = int(s)
        if abs(n) <= MAX_SAFE_INTEGER:
            return n
        # JCS writes large integral doubles as plain digits (canonical_json(1e16) is
        # "10000000000000000"), so such a literal loads back as that double. Any other big
        # integer would silently become a different number, so it is refused.
        f = float(n)
        if rfc8785.dumps(f) == s.encode("ascii"):
            return f
    raise CanonicalJSONError(_BIG_INTEGER)


def _parse_float(s: str) -> float:
    f = float(s)
    if math.isinf(f):
        raise CanonicalJSONError(f"number {s:.40} is too large for a double")
    return f


def _check_strings(value: object) -> None:
    # JSON escapes like "\ud800" decode to lone surrogates, which UTF-8 cannot encode.
    # Parsed JSON has no cycles, and its depth was already bounded by the parser.
    stack: list[object] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise CanonicalJSONError("string contains a lone surrogate escape") from None
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def canonical_loads(data: bytes) -> object:
    """Parse UTF-8 JSON strictly: no duplicate keys, NaN/Infinity or lone surrogates, and
    no integer beyond ±(2**53-1) unless it is how JCS writes a double."""
    try:
        # Decoded by hand: json.loads(bytes) would also guess UTF-16 and UTF-32.
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalJSONError(f"JSON is not valid UTF-8 (byte offset {e.start})") from None
    try:
        value: object = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except json.JSONDecodeError as e:
        raise CanonicalJSONError(
            f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise CanonicalJSONError("JSON is nested too deeply") from None
    _check_strings(value)
    return value


def is_canonical(data: bytes) -> bool:
    """True if `data` is valid JSON already in RFC 8785 canonical form."""
    try:
        return canonical_json(canonical_loads(data)) == data
    except CanonicalJSONError:
        return False
