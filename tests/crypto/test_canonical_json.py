"""RFC 8785 canonicalization against the cyberphone/json-canonicalization vectors."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from lunan.crypto.canonical_json import (
    CanonicalJSONError,
    canonical_json,
    canonical_loads,
    is_canonical,
)

JCS_DIR = Path(__file__).parent.parent / "vectors" / "jcs-rfc8785" / "testdata"
JCS_CASES = sorted(p.stem for p in (JCS_DIR / "input").glob("*.json"))
MAX = 2**53 - 1


def test_all_six_jcs_vectors_are_present() -> None:
    assert JCS_CASES == ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.mark.parametrize("case", JCS_CASES)
def test_jcs_vector_canonicalizes_to_expected_bytes(case: str) -> None:
    source = (JCS_DIR / "input" / f"{case}.json").read_bytes()
    expected = (JCS_DIR / "output" / f"{case}.json").read_bytes()
    expected_hex = (JCS_DIR / "outhex" / f"{case}.txt").read_text()
    assert bytes.fromhex(expected_hex) == expected  # the two expected forms agree
    assert canonical_json(canonical_loads(source)) == expected
    assert is_canonical(expected)
    assert not is_canonical(source)


# --- canonical_json ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n",
    [MAX + 1, -MAX - 1, 2**64, 10**400, -(10**5000)],
    ids=["max+1", "-max-1", "2^64", "10^400", "-10^5000"],
)
def test_integers_beyond_two_to_the_53_are_refused_with_advice(n: int) -> None:
    with pytest.raises(CanonicalJSONError, match="send it as a string"):
        canonical_json({"n": [n]})


def test_largest_safe_integers_are_accepted() -> None:
    assert canonical_json([MAX, -MAX]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, {1: "non-string key"}, {"a": b"bytes"}, "lone \ud800", {"\udc00": 1}],
)
def test_values_outside_json_are_refused_in_one_line(value: object) -> None:
    with pytest.raises(CanonicalJSONError) as excinfo:
        canonical_json(value)
    assert "\n" not in str(excinfo.value)


def test_self_containing_value_is_refused() -> None:
    loop: list[object] = [math.nan]
    loop.append(loop)
    with pytest.raises(CanonicalJSONError):
        canonical_json(loop)
    loop[0] = 1
    with pytest.raises(CanonicalJSONError, match="nested too deeply"):
        canonical_json(loop)


# --- canonical_loads ------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b'{"a":1,"a":2}', b'[{"b":{"x":1,"y":2,"x":3}}]'])
def test_duplicate_keys_are_rejected(data: bytes) -> None:
    with pytest.raises(CanonicalJSONError, match="duplicate object key"):
        canonical_loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b"[NaN]",
        b"[Infinity]",
        b"[-Infinity]",
        b"[1e400]",
        b'"\xff"',  # not UTF-8
        '"é"'.encode("utf-16"),  # json.loads(bytes) alone would accept this
        b'"\\ud800"',  # lone surrogate escape
        b'{"\\udc00":1}',
        b"9007199254740993",  # a double would round this to ...992
        b"1" + b"0" * 5000,  # past Python's int() digit limit
        b"[1,]",
        b"",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=lambda data: repr(data) if len(data) < 40 else f"{data[:10]!r}...({len(data)} bytes)",
)
def test_unacceptable_json_is_rejected(data: bytes) -> None:
    with pytest.raises(CanonicalJSONError) as excinfo:
        canonical_loads(data)
    assert "\n" not in str(excinfo.value)
    assert not is_canonical(data)


def test_big_integer_literals_load_only_when_they_are_how_jcs_writes_a_double() -> None:
    # JCS writes large integral doubles as their shortest digits padded with zeros.
    f = 3.628872567864849e16
    assert canonical_json(f) == b"36288725678648490"
    assert canonical_loads(b"36288725678648490") == f
    assert is_canonical(b"36288725678648490")
    # The double's exact value is ...488, but that is not its canonical form.
    assert int(f) == 36288725678648488
    with pytest.raises(CanonicalJSONError, match="send it as a string"):
        canonical_loads(b"36288725678648488")
    assert canonical_json(2.0**60) == b"1152921504606847000"
    with pytest.raises(CanonicalJSONError, match="send it as a string"):
        canonical_loads(str(2**60).encode())


def test_surrogate_pair_escapes_are_accepted() -> None:
    assert canonical_loads(b'"\\ud83d\\ude02"') == "\U0001f602"


# --- properties ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX, MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@given(json_values)
def test_canonical_json_is_idempotent_through_canonical_loads(value: object) -> None:
    once = canonical_json(value)
    assert canonical_json(canonical_loads(once)) == once
    assert is_canonical(once)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8), st.randoms())
def test_canonical_json_ignores_dict_insertion_order(
    value: dict[str, object], rnd: random.Random
) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(value)
    assert canonical_json(dict(reversed(items))) == canonical_json(value)


@given(st.integers(min_value=MAX + 1) | st.integers(max_value=-MAX - 1))
def test_canonical_json_rejects_unsafe_integers(n: int) -> None:
    with pytest.raises(CanonicalJSONError, match="send it as a string"):
        canonical_json(n)
    with pytest.raises(CanonicalJSONError, match="send it as a string"):
        canonical_json({"nested": [1, {"n": n}]})


@given(st.text(max_size=8), json_values, json_values)
def test_any_duplicate_key_is_rejected(key: str, first: object, second: object) -> None:
    data = b"{%s:%s,%s:%s}" % (
        json.dumps(key).encode(),
        canonical_json(first),
        json.dumps(key).encode(),
        canonical_json(second),
    )
    with pytest.raises(CanonicalJSONError, match="duplicate object key"):
        canonical_loads(data)


# Keys mixing astral characters with U+E000–U+FFFF are where UTF-16 and code-point order part.
tricky_text = st.text(
    alphabet=st.sampled_from(["a", "\x00", "\x1f", "\x7f", '"', "\\", "é", "\ue000", "\uffff"])
    | st.characters(codec="utf-8"),
    max_size=6,
)
integer_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX, MAX) | tricky_text,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(tricky_text, children, max_size=5)
    ),
    max_leaves=25,
)


@given(integer_values | json_values)
def test_canonical_json_writes_what_the_rfc8785_library_writes(value: object) -> None:
    # canonical_json takes a faster path for values without floats; it must not differ.
    assert canonical_json(value) == rfc8785.dumps(value)  # type: ignore[arg-type]


def test_a_lone_surrogate_is_refused_on_the_fast_path_too() -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json({"k": "\ud800"})
