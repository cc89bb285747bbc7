"""HTTP Message Signatures (RFC 9421) between nodes: the RFC's Ed25519 example, then our profile.

Where the RFC text comes from: the stored search corpus holds no copy of the published RFC
9421 text file, but it holds the httpwg/http-extensions source of the draft that became it
(draft-ietf-httpbis-message-signatures.md, commit 0dbd770b). Its Appendix B.1.4 key, B.2
test-request and B.2.6 signature base and header fields are copied below verbatim,
including the RFC 8792 line folding; rfcinfo.com's copy of RFC 9421 B.2.6 shows the same
base, Signature-Input and Signature.
"""

from __future__ import annotations

import base64
import json
import re
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from lunan.net.digest import BareItem, parse_dictionary, serialize_member
from lunan.net.signatures import (
    COVERED_COMPONENTS,
    REASONS,
    ReplayCache,
    SignatureError,
    SignatureInput,
    sign_request,
    signature_base,
    verify_request,
)

# --------------------------------------------------------------------------------------------
# RFC 9421 Appendix B, verbatim
# --------------------------------------------------------------------------------------------

# B.1.4. Example Ed25519 Test Key ("test-key-ed25519")
RFC_B14_PEM = """\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----

-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_B14_JWK = """\
{
  "kty": "OKP",
  "crv": "Ed25519",
  "kid": "test-key-ed25519",
  "d": "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU",
  "x": "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
}
"""

# B.2. Test Cases: the test-request message.
RFC_B2_TEST_REQUEST = r"""NOTE: '\' line wrapping per RFC 8792

POST /foo?param=Value&Pet=dog HTTP/1.1
Host: example.com
Date: Tue, 20 Apr 2021 02:07:55 GMT
Content-Type: application/json
Content-Digest: sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+T\
  aPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
Content-Length: 18

{"hello": "world"}
"""

# B.2.6. Signing a Request Using ed25519: the signature base...
RFC_B26_SIGNATURE_BASE = r"""NOTE: '\' line wrapping per RFC 8792

"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" \
  "content-type" "content-length");created=1618884473\
  ;keyid="test-key-ed25519"
"""

# ... and the fields added to the message under the label sig-b26.
RFC_B26_FIELDS = r"""NOTE: '\' line wrapping per RFC 8792

Signature-Input: sig-b26=("date" "@method" "@path" "@authority" \
  "content-type" "content-length");created=1618884473\
  ;keyid="test-key-ed25519"
Signature: sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1\
  u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:
"""

RFC_B26_COMPONENTS = ("date", "@method", "@path", "@authority", "content-type", "content-length")
RFC_B26_PARAMS: dict[str, BareItem] = {"created": 1618884473, "keyid": "test-key-ed25519"}


def unfold_rfc8792(text: str) -> str:
    """Undo RFC 8792 single-backslash folding; drop the NOTE line and the final newline."""
    note = "NOTE: '\\' line wrapping per RFC 8792\n\n"
    assert text.startswith(note)
    body = re.sub(r"\\\n *", "", text[len(note) :])
    assert body.endswith("\n")
    return body[:-1]


def parse_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.split("\n"):
        name, value = line.split(": ", 1)
        fields[name] = value
    return fields


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def parse_test_request(text: str) -> Request:
    head, body = unfold_rfc8792(text).split("\n\n", 1)
    request_line, *field_lines = head.split("\n")
    method, target, version = request_line.split(" ")
    assert version == "HTTP/1.1"
    headers = parse_fields("\n".join(field_lines))
    raw = body.encode() + b"\n"  # the artwork's last line ends the body text...
    raw = raw[: int(headers["Content-Length"])]  # ...but Content-Length says 18 bytes
    # The RFC gives no scheme; B.2.6 does not cover one.
    return Request(method, f"https://{headers['Host']}{target}", headers, raw)


def load_rfc_keys() -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    public_pem, private_pem = RFC_B14_PEM.split("\n\n")
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(private, Ed25519PrivateKey)
    assert isinstance(public, Ed25519PublicKey)
    return private, public


RFC_REQUEST = parse_test_request(RFC_B2_TEST_REQUEST)
RFC_BASE = unfold_rfc8792(RFC_B26_SIGNATURE_BASE).encode("ascii")
RFC_FIELDS = parse_fields(unfold_rfc8792(RFC_B26_FIELDS))
RFC_PRIVATE, RFC_PUBLIC = load_rfc_keys()


def rfc_keys(keyid: str) -> Ed25519PublicKey | None:
    return RFC_PUBLIC if keyid == "test-key-ed25519" else None


def test_rfc_test_request_is_what_the_rfc_shows() -> None:
    assert RFC_REQUEST.method == "POST"
    assert RFC_REQUEST.url == "https://example.com/foo?param=Value&Pet=dog"
    assert RFC_REQUEST.body == b'{"hello": "world"}'
    assert RFC_REQUEST.headers["Content-Digest"].startswith("sha-512=:WZDPaVn/7XgHaAy8pmoj")


def test_rfc_b14_pem_and_jwk_are_the_same_key() -> None:
    jwk = json.loads(RFC_B14_JWK)
    raw = serialization.Encoding.Raw
    seed = RFC_PRIVATE.private_bytes(
        raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert base64.urlsafe_b64encode(seed).rstrip(b"=").decode() == jwk["d"]
    public = RFC_PUBLIC.public_bytes(raw, serialization.PublicFormat.Raw)
    assert base64.urlsafe_b64encode(public).rstrip(b"=").decode() == jwk["x"]
    assert RFC_PRIVATE.public_key() == RFC_PUBLIC


def test_signature_base_reproduces_rfc_b26_byte_for_byte() -> None:
    base = signature_base(
        RFC_B26_COMPONENTS,
        RFC_REQUEST.method,
        RFC_REQUEST.url,
        RFC_REQUEST.headers,
        RFC_B26_PARAMS,
    )
    assert base == RFC_BASE


def test_signing_rfc_base_with_rfc_key_reproduces_rfc_signature() -> None:
    # Ed25519 is deterministic, so this is the exact RFC value.
    signature = RFC_PRIVATE.sign(RFC_BASE)
    member = parse_dictionary(RFC_FIELDS["Signature"])["sig-b26"]
    assert serialize_member(member) == ":" + base64.b64encode(signature).decode() + ":"


def test_rfc_signature_input_reserialises_to_the_rfc_text() -> None:
    member = parse_dictionary(RFC_FIELDS["Signature-Input"])["sig-b26"]
    text = SignatureInput(RFC_B26_COMPONENTS, RFC_B26_PARAMS).serialize()
    assert serialize_member(member) == text
    assert RFC_FIELDS["Signature-Input"] == "sig-b26=" + text
    assert RFC_BASE.endswith(b'"@signature-params": ' + text.encode())


def test_verify_accepts_the_rfc_b26_signature() -> None:
    keyid = verify_request(
        RFC_REQUEST.method,
        RFC_REQUEST.url,
        {**RFC_REQUEST.headers, **RFC_FIELDS},
        RFC_REQUEST.body,
        rfc_keys,
        now=1618884473,
        label="sig-b26",
        required=("@method", "@authority", "@path"),
    )
    assert keyid == "test-key-ed25519"


def test_rfc_b26_signature_fails_when_a_covered_header_changes() -> None:
    headers = {**RFC_REQUEST.headers, **RFC_FIELDS, "Date": "Tue, 20 Apr 2021 02:07:56 GMT"}
    with pytest.raises(SignatureError) as info:
        verify_request(
            "POST",
            RFC_REQUEST.url,
            headers,
            RFC_REQUEST.body,
            rfc_keys,
            now=1618884473,
            label="sig-b26",
            required=(),
        )
    assert info.value.reason == "bad-signature"


def test_rfc_b26_signature_falls_short_of_the_lunan_policy() -> None:
    # It covers neither the query nor Content-Digest, so the node-to-node default refuses it.
    with pytest.raises(SignatureError) as info:
        verify_request(
            "POST",
            RFC_REQUEST.url,
            {**RFC_REQUEST.headers, **RFC_FIELDS},
            RFC_REQUEST.body,
            rfc_keys,
            now=1618884473,
            label="sig-b26",
        )
    assert info.value.reason == "missing-component"
    assert "@query, content-digest" in str(info.value)


# --------------------------------------------------------------------------------------------
# The node-to-node profile
# --------------------------------------------------------------------------------------------

NOW = 1_700_000_000
URL = "https://city-b.example:8443/v1/exchange?kind=alert&n=2"
BODY = b'{"alert": "flood", "city": "linyi"}'
KEY_A = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEY_B = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PUBLIC = {"city-a": KEY_A.public_key(), "city-b": KEY_B.public_key()}
BASE_HEADERS = {"Content-Type": "application/json", "Host": "city-b.example:8443"}


def keys(keyid: str) -> Ed25519PublicKey | None:
    return PUBLIC.get(keyid)


def signed(
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    created: int = NOW,
    key_id: str = "city-a",
    key: Ed25519PrivateKey = KEY_A,
    **kwargs: object,
) -> dict[str, str]:
    added = sign_request(method, url, BASE_HEADERS, body, key_id, key, created, **kwargs)  # type: ignore[arg-type]
    return {**BASE_HEADERS, **added}


def reason(call: Callable[[], object]) -> str:
    with pytest.raises(SignatureError) as info:
        call()
    assert "\n" not in str(info.value)
    assert info.value.reason in REASONS
    return info.value.reason


def verify(
    headers: Mapping[str, str],
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    now: int = NOW,
    seen: ReplayCache | None = None,
) -> str:
    return verify_request(method, url, headers, body, keys, now, seen=seen)


def test_sign_then_verify_returns_the_sender() -> None:
    assert verify(signed()) == "city-a"
    assert verify(signed(key_id="city-b", key=KEY_B)) == "city-b"


def test_signed_fields_follow_the_profile() -> None:
    added = sign_request("POST", URL, {}, BODY, "city-a", KEY_A, created=NOW, nonce="n0nce")
    assert set(added) == {"Content-Digest", "Signature-Input", "Signature"}
    assert added["Signature-Input"] == (
        'lunan=("@method" "@authority" "@path" "@query" "content-digest")'
        ';created=1700000000;nonce="n0nce";keyid="city-a";alg="ed25519"'
    )
    assert re.fullmatch(r"lunan=:[A-Za-z0-9+/]{86}==:", added["Signature"])
    assert added["Content-Digest"].startswith("sha-256=:")


def test_signature_base_of_the_profile() -> None:
    params: dict[str, BareItem] = {"created": NOW, "keyid": "city-a"}
    headers = {"content-digest": "sha-256=:AAAA:"}
    base = signature_base(COVERED_COMPONENTS, "POST", URL, headers, params)
    assert base.decode() == (
        '"@method": POST\n'
        '"@authority": city-b.example:8443\n'
        '"@path": /v1/exchange\n'
        '"@query": ?kind=alert&n=2\n'
        '"content-digest": sha-256=:AAAA:\n'
        '"@signature-params": ("@method" "@authority" "@path" "@query" "content-digest")'
        ';created=1700000000;keyid="city-a"'
    )


@pytest.mark.parametrize(
    ("url", "authority", "path", "query"),
    [
        ("https://Example.COM/", "example.com", "/", "?"),
        ("https://example.com", "example.com", "/", "?"),
        ("https://example.com:443/a?", "example.com", "/a", "?"),
        ("http://example.com:80/a%2Fb?x=%20y", "example.com", "/a%2Fb", "?x=%20y"),
        ("http://example.com:443/", "example.com:443", "/", "?"),
        ("https://user:pw@[2001:DB8::1]:8443/p#frag", "[2001:db8::1]:8443", "/p", "?"),
    ],
)
def test_derived_components_are_normalised(url: str, authority: str, path: str, query: str) -> None:
    base = signature_base(("@authority", "@path", "@query"), "GET", url, {}, {})
    assert base.decode().split("\n")[:3] == [
        f'"@authority": {authority}',
        f'"@path": {path}',
        f'"@query": {query}',
    ]


def test_other_derived_components() -> None:
    url = "HTTPS://Example.com:443/p/q?a=1"
    components = ("@scheme", "@target-uri", "@request-target")
    assert signature_base(components, "GET", url, {}, {}).decode().split("\n")[:3] == [
        '"@scheme": https',
        '"@target-uri": https://example.com/p/q?a=1',
        '"@request-target": /p/q?a=1',
    ]


def test_repeated_and_folded_header_values_are_combined() -> None:
    class MultiHeaders(dict[str, str]):
        """Like Starlette's Headers: items() yields each field line."""

        def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
            return [("X-Tag", "a"), ("x-tag", "  b\r\n   c  ")]

    base = signature_base(("x-tag",), "GET", URL, MultiHeaders(), {})
    assert base.decode().split("\n")[0] == '"x-tag": a, b c'


def test_a_proxy_terminating_tls_does_not_break_the_signature() -> None:
    headers = signed(url="https://city-b.example/v1/x")
    assert verify(headers, url="http://city-b.example/v1/x") == "city-a"
    assert verify(headers, url="HTTP://CITY-B.example:80/v1/x") == "city-a"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"method": "PUT"}, "bad-signature"),
        ({"method": "post"}, "bad-signature"),
        ({"url": "https://city-b.example:8443/v1/other?kind=alert&n=2"}, "bad-signature"),
        ({"url": "https://city-b.example:8443/v1/exchange?kind=alert&n=3"}, "bad-signature"),
        ({"url": "https://city-b.example:8443/v1/exchange"}, "bad-signature"),
        ({"url": "https://city-c.example:8443/v1/exchange?kind=alert&n=2"}, "bad-signature"),
        ({"url": "https://city-b.example/v1/exchange?kind=alert&n=2"}, "bad-signature"),
        ({"body": BODY + b" "}, "bad-digest"),
        ({"body": b""}, "bad-digest"),
    ],
)
def test_a_changed_request_is_refused(change: dict[str, object], expected: str) -> None:
    headers = signed()
    args = {"method": "POST", "url": URL, "body": BODY, **change}
    assert reason(lambda: verify(headers, **args)) == expected  # type: ignore[arg-type]


def test_a_body_swapped_with_its_digest_is_refused() -> None:
    headers = signed()
    other = b'{"alert": "none"}'
    headers["Content-Digest"] = sign_request("POST", URL, {}, other, "x", KEY_B)["Content-Digest"]
    assert reason(lambda: verify(headers, body=other)) == "bad-signature"


def test_a_changed_content_digest_header_is_refused() -> None:
    headers = signed()
    headers["Content-Digest"] = "sha-256=:" + base64.b64encode(bytes(32)).decode() + ":"
    assert reason(lambda: verify(headers)) == "bad-digest"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (f"created={NOW}", f"created={NOW + 1}"),
        ('keyid="city-a"', 'keyid="city-b"'),
        ('nonce="', 'nonce="x'),
        ('"@query" ', ""),
    ],
)
def test_a_changed_signature_input_is_refused(old: str, new: str) -> None:
    headers = signed()
    assert old in headers["Signature-Input"]
    headers["Signature-Input"] = headers["Signature-Input"].replace(old, new)
    expected = "missing-component" if old == '"@query" ' else "bad-signature"
    assert reason(lambda: verify(headers)) == expected


def test_a_changed_signature_is_refused() -> None:
    headers = signed()
    raw = bytearray(base64.b64decode(headers["Signature"][len("lunan=:") : -1]))
    raw[10] ^= 1
    headers["Signature"] = "lunan=:" + base64.b64encode(bytes(raw)).decode() + ":"
    assert reason(lambda: verify(headers)) == "bad-signature"


def test_a_signature_by_another_known_key_is_refused() -> None:
    headers = signed(key_id="city-a", key=KEY_B)
    assert reason(lambda: verify(headers)) == "bad-signature"


def test_an_unknown_key_is_refused() -> None:
    headers = signed(key_id="city-z", key=Ed25519PrivateKey.generate())
    assert reason(lambda: verify(headers)) == "unknown-key"


@pytest.mark.parametrize("offset", [-61, 61, -10_000, 10_000])
def test_a_signature_outside_the_time_window_is_refused(offset: int) -> None:
    headers = signed(created=NOW + offset)
    assert reason(lambda: verify(headers)) == "expired"


@pytest.mark.parametrize("offset", [-60, 0, 60])
def test_a_signature_inside_the_time_window_is_accepted(offset: int) -> None:
    assert verify(signed(created=NOW + offset)) == "city-a"


def test_max_skew_is_the_callers() -> None:
    headers = signed(created=NOW - 100)
    assert verify_request("POST", URL, headers, BODY, keys, NOW, max_skew=100) == "city-a"
    with pytest.raises(SignatureError):
        verify_request("POST", URL, headers, BODY, keys, NOW, max_skew=99)


def _sign_custom(
    components: tuple[str, ...], params: dict[str, BareItem], headers: dict[str, str]
) -> dict[str, str]:
    """Sign with any components and parameters, to build what sign_request never sends."""
    base = signature_base(components, "POST", URL, headers, params)
    signature = base64.b64encode(KEY_A.sign(base)).decode()
    return {
        **headers,
        "Signature-Input": "lunan=" + SignatureInput(components, params).serialize(),
        "Signature": f"lunan=:{signature}:",
    }


def test_an_expires_parameter_in_the_past_is_refused() -> None:
    headers = {"Content-Digest": signed()["Content-Digest"]}
    params: dict[str, BareItem] = {"created": NOW - 10, "expires": NOW - 1, "keyid": "city-a"}
    headers = _sign_custom(COVERED_COMPONENTS, params, headers)
    assert reason(lambda: verify(headers)) == "expired"
    params["expires"] = NOW
    assert verify(_sign_custom(COVERED_COMPONENTS, params, headers)) == "city-a"


def test_a_replayed_request_is_refused() -> None:
    seen = ReplayCache()
    headers = signed()
    assert verify(headers, seen=seen) == "city-a"
    assert reason(lambda: verify(headers, seen=seen, now=NOW + 30)) == "replayed"
    assert verify(signed(), seen=seen) == "city-a"  # a fresh nonce is fine


def test_a_refused_forgery_does_not_use_up_the_nonce() -> None:
    seen = ReplayCache()
    headers = signed()
    forged = {**headers, "Signature": signed(key=KEY_B)["Signature"]}
    assert reason(lambda: verify(forged, seen=seen)) == "bad-signature"
    assert verify(headers, seen=seen) == "city-a"


def test_replay_protection_needs_a_nonce() -> None:
    headers = {"Content-Digest": signed()["Content-Digest"]}
    headers = _sign_custom(COVERED_COMPONENTS, {"created": NOW, "keyid": "city-a"}, headers)
    assert verify(headers) == "city-a"
    assert reason(lambda: verify(headers, seen=ReplayCache())) == "malformed-signature"


def test_a_replay_cache_must_cover_the_verifiers_window() -> None:
    with pytest.raises(ValueError, match="max_skew"):
        verify_request("POST", URL, signed(), BODY, keys, NOW, 60, ReplayCache(max_skew=30))


def test_replay_cache_forgets_a_nonce_once_it_could_no_longer_pass() -> None:
    cache = ReplayCache(max_skew=60)
    assert cache.check_and_add("a", "n", created=1000, now=1000)
    assert not cache.check_and_add("a", "n", created=1000, now=1060)
    assert cache.check_and_add("a", "n", created=1000, now=1061)
    assert cache.check_and_add("b", "n", created=1000, now=1061)  # nonces are per key


def test_replay_cache_keeps_a_future_dated_nonce_for_twice_the_skew() -> None:
    cache = ReplayCache(max_skew=60)
    assert cache.check_and_add("a", "n", created=1060, now=1000)
    assert not cache.check_and_add("a", "n", created=1060, now=1120)
    assert cache.check_and_add("a", "n", created=1060, now=1121)


def test_a_full_replay_cache_refuses_rather_than_forgets() -> None:
    cache = ReplayCache(max_skew=60, max_entries=2)
    assert cache.check_and_add("a", "1", 1000, 1000)
    assert cache.check_and_add("a", "2", 1000, 1000)
    assert not cache.check_and_add("a", "3", 1000, 1000)
    assert not cache.check_and_add("a", "1", 1000, 1001)
    assert len(cache) == 2
    assert cache.check_and_add("a", "3", 1000, 1061)
    assert len(cache) == 1


def test_replay_cache_lets_one_thread_win() -> None:
    cache = ReplayCache()
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def attempt(i: int) -> None:
        barrier.wait()
        for j in range(200):
            ok = cache.check_and_add("a", f"n{j}", NOW, NOW + i % 3)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 200
    assert len(cache) == 200


@pytest.mark.parametrize("drop", ["Signature", "Signature-Input"])
def test_a_missing_signature_header_is_refused(drop: str) -> None:
    headers = signed()
    del headers[drop]
    assert reason(lambda: verify(headers)) == "missing-signature"


def test_an_unsigned_request_is_refused() -> None:
    assert reason(lambda: verify(BASE_HEADERS)) == "missing-signature"


def test_a_signature_under_another_label_is_not_ours() -> None:
    headers = signed(label="other")
    assert reason(lambda: verify(headers)) == "missing-signature"
    assert verify_request("POST", URL, headers, BODY, keys, NOW, label="other") == "city-a"


def test_our_signature_is_found_among_others() -> None:
    ours, theirs = signed(), signed(label="proxy", key_id="city-b", key=KEY_B)
    headers = {
        **ours,
        "Signature-Input": f"{theirs['Signature-Input']}, {ours['Signature-Input']}",
        "Signature": f"{theirs['Signature']}, {ours['Signature']}",
    }
    assert verify(headers) == "city-a"


def test_header_names_are_matched_without_regard_to_case() -> None:
    headers = {k.upper() if "Sig" in k else k.lower(): v for k, v in signed().items()}
    assert verify(headers) == "city-a"


def test_a_missing_content_digest_is_refused() -> None:
    headers = signed()
    del headers["Content-Digest"]
    assert reason(lambda: verify(headers)) == "bad-digest"


GOOD_COMPONENTS = '("@method" "@authority" "@path" "@query" "content-digest")'


@pytest.mark.parametrize(
    ("signature_input", "signature"),
    [
        ("lunan=", None),
        ("lunan", None),
        ("lunan=(", None),
        ('lunan="@method";created=1;keyid="city-a"', None),
        ('lunan=(@method);created=1;keyid="city-a"', None),
        ('lunan=("@method" @path);created=1;keyid="city-a"', None),
        ('lunan=(method);created=1;keyid="city-a"', None),
        ('lunan=("@method";req);created=1;keyid="city-a"', None),
        ('lunan=("@method" "@method");created=1;keyid="city-a"', None),
        ('lunan=("@signature-params");created=1;keyid="city-a"', None),
        (f'lunan={GOOD_COMPONENTS};keyid="city-a"', None),
        (f'lunan={GOOD_COMPONENTS};created="{NOW}";keyid="city-a"', None),
        (f'lunan={GOOD_COMPONENTS};created={NOW}.0;keyid="city-a"', None),
        (f"lunan={GOOD_COMPONENTS};created={NOW}", None),
        (f"lunan={GOOD_COMPONENTS};created={NOW};keyid=city-a", None),
        (f'lunan={GOOD_COMPONENTS};created={NOW};keyid="city-a";alg="hmac-sha256"', None),
        (f'lunan={GOOD_COMPONENTS};created={NOW};keyid="city-a";expires="soon"', None),
        (f'lunan={GOOD_COMPONENTS};created={NOW};keyid="city-a"', "lunan=:YQ==:"),
        (f'lunan={GOOD_COMPONENTS};created={NOW};keyid="city-a"', "lunan=abc"),
        (f'lunan={GOOD_COMPONENTS};created={NOW};keyid="city-a"', "lunan=(:YQ==:)"),
        (f'lunan={GOOD_COMPONENTS};created={NOW};keyid="city-a"', "lunan=:YQ==:,"),
        (f'lunan={GOOD_COMPONENTS};created={NOW};keyid="city-a"', "other=:YQ==:"),
        (f'other={GOOD_COMPONENTS};created={NOW};keyid="city-a"', None),
    ],
)
def test_a_malformed_signature_is_refused(signature_input: str, signature: str | None) -> None:
    headers = signed()
    headers["Signature-Input"] = signature_input
    if signature is not None:
        headers["Signature"] = signature
    assert reason(lambda: verify(headers)) == "malformed-signature"


@pytest.mark.parametrize(
    "extra", ['"X-City"', '"@status"', '"@query-param"', '"@unknown"', '"x-city"']
)
def test_components_that_cannot_be_rebuilt_are_refused(extra: str) -> None:
    headers = signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        '"content-digest")', f'"content-digest" {extra})'
    )
    expected = "missing-component" if extra == '"x-city"' else "malformed-signature"
    assert reason(lambda: verify(headers)) == expected


@pytest.mark.parametrize("left_out", ["@method", "@authority", "@path", "@query", "content-digest"])
def test_a_signature_that_leaves_out_a_required_component_is_refused(left_out: str) -> None:
    components = tuple(c for c in COVERED_COMPONENTS if c != left_out)
    headers = signed(components=components)
    assert reason(lambda: verify(headers)) == "missing-component"


def test_target_uri_stands_in_for_authority_path_and_query() -> None:
    components = ("@method", "@target-uri", "content-digest")
    assert verify(signed(components=components)) == "city-a"


def test_extra_covered_headers_are_checked() -> None:
    headers = {**BASE_HEADERS, "X-City": "linyi"}
    components = (*COVERED_COMPONENTS, "x-city")
    added = sign_request("POST", URL, headers, BODY, "city-a", KEY_A, NOW, components=components)
    assert verify({**headers, **added}) == "city-a"
    assert reason(lambda: verify({**headers, **added, "X-City": "zaozhuang"})) == "bad-signature"
    del headers["X-City"]
    assert reason(lambda: verify({**headers, **added})) == "missing-component"


def test_nonces_are_fresh_and_base64url() -> None:
    inputs = {signed()["Signature-Input"] for _ in range(20)}
    assert len(inputs) == 20
    for text in inputs:
        m = re.search(r';nonce="([^"]*)"', text)
        assert m is not None
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", m.group(1))


def test_created_defaults_to_now() -> None:
    import time

    added = sign_request("GET", URL, {}, b"", "city-a", KEY_A)
    m = re.search(r";created=(\d+)", added["Signature-Input"])
    assert m is not None
    assert abs(int(m.group(1)) - time.time()) < 5


@pytest.mark.parametrize(
    ("kwargs", "url"),
    [
        ({"label": "Lunan"}, URL),
        ({"nonce": "no\nnewlines"}, URL),
        ({}, "/relative/path"),
        ({"method": "PO\nST"}, URL),
        ({}, "https://example.com/caf\u00e9"),
    ],
)
def test_signing_refuses_what_cannot_be_signed(kwargs: dict[str, str], url: str) -> None:
    options = dict(kwargs)
    method = options.pop("method", "POST")
    with pytest.raises(ValueError):
        sign_request(method, url, {}, b"", "city-a", KEY_A, NOW, **options)


PATH_SEGMENT = st.text(alphabet=string.ascii_letters + string.digits + "-._~%", min_size=1)


@given(
    body=st.binary(min_size=1, max_size=2048),
    segments=st.lists(PATH_SEGMENT, max_size=4),
    query=st.one_of(st.none(), st.text(alphabet=string.ascii_letters + "=&%", max_size=20)),
    data=st.data(),
)
def test_any_signed_request_verifies_and_any_flipped_body_byte_fails(
    body: bytes, segments: list[str], query: str | None, data: st.DataObject
) -> None:
    url = "https://city-b.example/" + "/".join(segments) + ("" if query is None else "?" + query)
    headers = signed(url=url, body=body)
    assert verify(headers, url=url, body=body) == "city-a"
    i = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255))]) + body[i + 1 :]
    assert reason(lambda: verify(headers, url=url, body=flipped)) == "bad-digest"
