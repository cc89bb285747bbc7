"""HTTP Message Signatures (RFC 9421) with Ed25519, for messages between alliance nodes.

Every node-to-node request carries three header fields (the second one is one line)::

    Content-Digest: sha-256=:<base64>:
    Signature-Input: lunan=("@method" "@authority" "@path" "@query" "content-digest")
        ;created=<unix time>;nonce="<16 random bytes, base64url>";keyid="<node>";alg="ed25519"
    Signature: lunan=:<base64 of the 64-byte Ed25519 signature>:

The signature covers the method, the authority (host and non-default port), the path, the
query and the Content-Digest, so the body is bound through its digest (RFC 9530). The
receiver refuses a request whose key is unknown, whose signature or digest does not check,
whose ``created`` is more than ``max_skew`` seconds from its clock (either way), or whose
``(keyid, nonce)`` it has already accepted (`ReplayCache`).

``@authority`` + ``@path`` + ``@query`` are signed rather than ``@target-uri`` so that a
TLS-terminating proxy (https outside, http inside) does not break the signature; a
verifier also accepts ``@target-uri`` in their place.

Responses are signed the same way over ``"@status"`` and ``content-digest`` (`sign_response`,
`verify_response`): the exchange (lunan.exchange) signs every answer, so that a requester can
show what the provider said, and a relay cannot change it.

Why our own code and not the ``http-message-signatures`` package (3.0.0): that package is
built around requests/httpx2/aiohttp message objects, reads the wall clock itself (these
functions take ``now`` so that they stay pure and testable), and leaves the content digest,
replay detection and key policy to the caller, which is most of what this module is for;
it also brings in ``http-sf``. The RFC 9421 signature base for a fixed, small set of
components is short to write, and the tests check it byte for byte against the RFC's own
Ed25519 example (Appendix B.2.6). Structured fields come from `lunan.net.digest`.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Literal, get_args
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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
    serialize_dictionary,
    serialize_inner_list,
    serialize_key,
)

DEFAULT_LABEL = "lunan"
ALGORITHM = "ed25519"
#: What sign_request covers, in this order.
COVERED_COMPONENTS: tuple[str, ...] = ("@method", "@authority", "@path", "@query", "content-digest")
#: What verify_request insists on by default (``@target-uri`` stands in for the middle three).
REQUIRED_COMPONENTS: tuple[str, ...] = COVERED_COMPONENTS
DEFAULT_MAX_SKEW = 60
NONCE_BYTES = 16

Reason = Literal[
    "missing-signature",
    "malformed-signature",
    "unknown-key",
    "bad-signature",
    "expired",
    "replayed",
    "bad-digest",
    "missing-component",
]
REASONS: frozenset[str] = frozenset(get_args(Reason))

# Components that "@target-uri" contains, for the required-components check.
_IN_TARGET_URI = frozenset({"@scheme", "@authority", "@path", "@query", "@request-target"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SIGNATURE_SIZE = 64


class SignatureError(ValueError):
    """A request's signature is missing or refused; `reason` says why, as a short slug."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


def _short(s: str) -> str:
    """repr() of untrusted input, cut short so error messages stay one readable line."""
    return repr(s) if len(s) <= 40 else repr(s[:37]) + "..."


@dataclass(frozen=True)
class SignatureInput:
    """One labelled member of Signature-Input: covered components and signature parameters.

    `params` keeps its order, which is part of what is signed.
    """

    components: tuple[str, ...]
    params: Mapping[str, BareItem] = field(default_factory=dict)

    def serialize(self) -> str:
        """The inner list used both as ``@signature-params`` and in Signature-Input."""
        return signature_params(self.components, self.params)


def signature_params(components: Sequence[str], params: Mapping[str, BareItem]) -> str:
    """The ``@signature-params`` value: an inner list of component names with parameters."""
    try:
        return serialize_inner_list(InnerList(tuple(Item(c) for c in components), params))
    except StructuredFieldError as e:
        raise SignatureError("malformed-signature", f"signature parameters: {e}") from None


# --------------------------------------------------------------------------------------------
# Signature base (RFC 9421 §2)
# --------------------------------------------------------------------------------------------


def _is_printable(value: str) -> bool:
    # RFC 9421 §2.2: derived component values are printable characters and spaces.
    return all(" " <= c <= "~" for c in value)


def _field_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of the field `name` (case-insensitive), in order.

    Mappings that keep repeated fields as separate items (e.g. Starlette's Headers) give
    several; they are combined as RFC 9421 §2.1 says.
    """
    lname = name.lower()
    return [value for key, value in headers.items() if key.lower() == lname]


def _field_value(headers: Mapping[str, str], name: str) -> str | None:
    values = _field_values(headers, name)
    return ", ".join(values) if values else None


def _canonical_field(name: str, values: list[str]) -> str:
    # RFC 9421 §2.1: strip each value, replace obs-fold by one space, join with ", ".
    out = []
    for raw in values:
        value = raw.strip(" \t")
        if "\r" in value or "\n" in value:
            lines = value.replace("\r\n", "\n").split("\n")
            if any(not line.startswith((" ", "\t")) for line in lines[1:]):
                raise SignatureError(
                    "malformed-signature", f"field {name!r} holds a bare line break"
                )
            value = " ".join(line.strip(" \t") for line in lines)
        out.append(value)
    return ", ".join(out)


def _authority(scheme: str, url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise SignatureError("malformed-signature", f"URL {_short(url)} has no host")
    try:
        port = parts.port
    except ValueError:
        raise SignatureError("malformed-signature", f"URL {_short(url)} has a bad port") from None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{host}:{port}"
    return host


def _derived_value(name: str, method: str, url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    path = parts.path or "/"
    query = "?" + parts.query
    if name == "@method":
        return method
    if name == "@scheme":
        return scheme
    if name == "@authority":
        return _authority(scheme, url)
    if name == "@path":
        return path
    if name == "@query":
        return query
    if name == "@request-target":
        return path + (query if parts.query else "")
    if name == "@target-uri":
        return f"{scheme}://{_authority(scheme, url)}{path}{query if parts.query else ''}"
    raise SignatureError("malformed-signature", f"derived component {name!r} is not supported")


def signature_base(
    components: Sequence[str],
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, BareItem],
) -> bytes:
    """The RFC 9421 §2.5 signature base for a request, as US-ASCII bytes.

    `components` are component names: derived ones (``@method``, ``@target-uri``,
    ``@authority``, ``@scheme``, ``@request-target``, ``@path``, ``@query``) are taken from
    `method` and the absolute `url`; others are lowercase header field names looked up in
    `headers` without regard to case. The ``@signature-params`` line comes last.

    Raises SignatureError: ``missing-component`` if a covered header is absent,
    ``malformed-signature`` for anything else that cannot be put in a signature base.
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise SignatureError("malformed-signature", f"URL {_short(url)} is not absolute")
    lines = []
    for name in components:
        if name.startswith("@"):
            value = _derived_value(name, method, url)
            if not _is_printable(value):
                raise SignatureError(
                    "malformed-signature", f"{name} value {_short(value)} is not printable ASCII"
                )
        else:
            value = _header_component(name, headers)
        lines.append(f'"{name}": {value}\n')
    lines.append(f'"@signature-params": {signature_params(components, params)}')
    return _ascii("".join(lines))


def _header_component(name: str, headers: Mapping[str, str]) -> str:
    """The value of a covered header field, canonicalised (RFC 9421 §2.1)."""
    if name != name.lower():
        raise SignatureError(
            "malformed-signature", f"component {name!r} is not a lowercase field name"
        )
    values = _field_values(headers, name)
    if not values:
        raise SignatureError("missing-component", f"covered header {name!r} is not in the message")
    value = _canonical_field(name, values)
    if any((c < " " and c != "\t") or c == "\x7f" for c in value):
        raise SignatureError("malformed-signature", f"field {name!r} holds a control character")
    return value


def _ascii(text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as e:
        raise SignatureError(
            "malformed-signature",
            f"signature base holds a non-ASCII character at offset {e.start}",
        ) from None


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------


def new_nonce() -> str:
    """16 random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(NONCE_BYTES)).rstrip(b"=").decode()


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    key_id: str,
    private_key: Ed25519PrivateKey,
    created: int | None = None,
    nonce: str | None = None,
    label: str = DEFAULT_LABEL,
    *,
    components: Sequence[str] = COVERED_COMPONENTS,
) -> dict[str, str]:
    """Sign a request; return the header fields to add to it.

    The result has ``Content-Digest`` (of `body`), ``Signature-Input`` and ``Signature``;
    they replace any fields of those names in `headers`. `url` is the absolute URL the
    request is sent to. `created` defaults to now and `nonce` to 16 fresh random bytes.
    """
    return _sign(
        components,
        lambda signed, params: signature_base(components, method, url, signed, params),
        headers,
        body,
        key_id,
        private_key,
        created,
        nonce,
        label,
    )


def _sign(
    components: Sequence[str],
    base_of: Callable[[Mapping[str, str], Mapping[str, BareItem]], bytes],
    headers: Mapping[str, str],
    body: bytes,
    key_id: str,
    private_key: Ed25519PrivateKey,
    created: int | None,
    nonce: str | None,
    label: str,
) -> dict[str, str]:
    """What sign_request and sign_response share: `base_of` makes the signature base from the
    headers (with the new ``Content-Digest``) and the signature parameters."""
    try:
        serialize_key(label)
    except StructuredFieldError as e:
        raise ValueError(f"signature label: {e}") from None
    digest = content_digest(body)
    signed_headers = {k: v for k, v in headers.items() if k.lower() != "content-digest"}
    signed_headers["Content-Digest"] = digest
    params: dict[str, BareItem] = {
        "created": int(time.time()) if created is None else created,
        "nonce": new_nonce() if nonce is None else nonce,
        "keyid": key_id,
        "alg": ALGORITHM,
    }
    signature = private_key.sign(base_of(signed_headers, params))
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{label}={signature_params(components, params)}",
        "Signature": serialize_dictionary({label: Item(signature)}),
    }


# --------------------------------------------------------------------------------------------
# Replay cache
# --------------------------------------------------------------------------------------------


class ReplayCache:
    """The (keyid, nonce) pairs of accepted signatures, kept while they could be replayed.

    A signature passes the time check only while ``now <= created + max_skew``, so an entry
    is kept until then (at least until ``now + max_skew``): never more than ``2 * max_skew``
    seconds after it was added, given that ``created <= now + max_skew``. Use it with a
    `verify_request` whose `max_skew` is not larger.

    At most `max_entries` are kept. When that many are live, new pairs are refused
    (`check_and_add` returns False) rather than old ones dropped, since dropping one would
    let it be replayed. Safe to share between threads.
    """

    def __init__(self, max_skew: int = DEFAULT_MAX_SKEW, max_entries: int = 100_000) -> None:
        if max_skew < 0 or max_entries < 1:
            raise ValueError("max_skew must be >= 0 and max_entries >= 1")
        self.max_skew = max_skew
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._expiry: dict[tuple[str, str], int] = {}
        self._heap: list[tuple[int, tuple[str, str]]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _prune(self, now: int) -> None:
        while self._heap and self._heap[0][0] < now:
            expiry, key = heappop(self._heap)
            if self._expiry.get(key) == expiry:
                del self._expiry[key]

    def check_and_add(self, keyid: str, nonce: str, created: int, now: int) -> bool:
        """True (and remember the pair) if it was not seen; False if seen or the cache is full."""
        key = (keyid, nonce)
        with self._lock:
            self._prune(now)
            if key in self._expiry or len(self._expiry) >= self.max_entries:
                return False
            expiry = max(created, now) + self.max_skew
            self._expiry[key] = expiry
            heappush(self._heap, (expiry, key))
            return True


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def _parse_signature_fields(headers: Mapping[str, str], label: str) -> tuple[SignatureInput, bytes]:
    input_field = _field_value(headers, "signature-input")
    signature_field = _field_value(headers, "signature")
    if input_field is None or signature_field is None:
        missing = "Signature-Input" if input_field is None else "Signature"
        raise SignatureError("missing-signature", f"the request has no {missing} header")
    try:
        inputs = parse_dictionary(input_field)
        signatures = parse_dictionary(signature_field)
    except StructuredFieldError as e:
        raise SignatureError("malformed-signature", f"signature header: {e}") from None
    if label not in inputs and label not in signatures:
        raise SignatureError("missing-signature", f"no signature labelled {label!r}")
    if label not in inputs or label not in signatures:
        where = "Signature-Input" if label not in inputs else "Signature"
        raise SignatureError("malformed-signature", f"{where} has no member {label!r}")

    member = inputs[label]
    if not isinstance(member, InnerList):
        raise SignatureError("malformed-signature", "Signature-Input member is not an inner list")
    components: list[str] = []
    for item in member.items:
        if isinstance(item.value, Token) or not isinstance(item.value, str):
            raise SignatureError("malformed-signature", "a covered component is not a string")
        if item.params:
            raise SignatureError(
                "malformed-signature",
                f"component parameters are not supported ({item.value!r})",
            )
        if item.value in components or item.value == "@signature-params":
            raise SignatureError(
                "malformed-signature", f"component {item.value!r} cannot be listed here"
            )
        components.append(item.value)

    signature = signatures[label]
    if not isinstance(signature, Item) or not isinstance(signature.value, bytes):
        raise SignatureError("malformed-signature", "Signature member is not a byte sequence")
    if len(signature.value) != _SIGNATURE_SIZE:
        raise SignatureError(
            "malformed-signature",
            f"signature is {len(signature.value)} bytes; Ed25519 signatures are 64",
        )
    return SignatureInput(tuple(components), member.params), signature.value


def _int_param(params: Mapping[str, BareItem], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SignatureError("malformed-signature", f"{name} is not an integer")
    return value


def _str_param(params: Mapping[str, BareItem], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, Token) or not isinstance(value, str):
        raise SignatureError("malformed-signature", f"{name} is not a string")
    return value


def _known_key(keys: Callable[[str], Ed25519PublicKey | None], keyid: str) -> Ed25519PublicKey:
    public_key = keys(keyid)
    if public_key is None:
        raise SignatureError("unknown-key", f"keyid {_short(keyid)} is not a known key")
    return public_key


def _check_digest(headers: Mapping[str, str], body: bytes) -> None:
    try:
        check_content_digest(_field_value(headers, "content-digest"), body)
    except DigestError as e:
        raise SignatureError("bad-digest", str(e)) from None


def _check_signature(public_key: Ed25519PublicKey, signature: bytes, base: bytes) -> None:
    try:
        public_key.verify(signature, base)
    except InvalidSignature:
        raise SignatureError("bad-signature", "the signature does not verify") from None


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Callable[[str], Ed25519PublicKey | None],
    now: int,
    max_skew: int = DEFAULT_MAX_SKEW,
    seen: ReplayCache | None = None,
    *,
    label: str = DEFAULT_LABEL,
    required: Collection[str] = REQUIRED_COMPONENTS,
) -> str:
    """Verify the signature labelled `label` on a request; return its keyid.

    `url` is the absolute URL the request was addressed to, `headers` its header fields
    (names in any case), `keys` maps a keyid to the sender's public key (None if unknown).
    The signature must cover every component in `required` and carry ``created`` and
    ``keyid``; with `seen`, also a ``nonce``, which may be accepted only once.

    Raises SignatureError whose `reason` is one of `REASONS`.
    """
    if seen is not None and seen.max_skew < max_skew:
        raise ValueError("the replay cache's max_skew is smaller than the verifier's")
    sig_input, signature = _parse_signature_fields(headers, label)
    params = sig_input.params

    created = _int_param(params, "created")
    expires = _int_param(params, "expires")
    keyid = _str_param(params, "keyid")
    nonce = _str_param(params, "nonce")
    alg = _str_param(params, "alg")
    if created is None:
        raise SignatureError("malformed-signature", "the signature has no created parameter")
    if keyid is None:
        raise SignatureError("malformed-signature", "the signature has no keyid parameter")
    if alg is not None and alg != ALGORITHM:
        raise SignatureError("malformed-signature", f"alg {_short(alg)} is not {ALGORITHM}")
    if seen is not None and nonce is None:
        raise SignatureError("malformed-signature", "the signature has no nonce parameter")

    covered = set(sig_input.components)
    if "@target-uri" in covered:
        covered |= _IN_TARGET_URI
    missing = [c for c in required if c not in covered]
    if missing:
        raise SignatureError(
            "missing-component", f"the signature does not cover {', '.join(missing)}"
        )

    if abs(now - created) > max_skew:
        direction = "in the future" if created > now else "old"
        raise SignatureError(
            "expired", f"signature created {abs(now - created)} s {direction}; limit {max_skew} s"
        )
    if expires is not None and now > expires:
        raise SignatureError("expired", f"signature expired {now - expires} s ago")

    public_key = _known_key(keys, keyid)
    if "content-digest" in sig_input.components:
        _check_digest(headers, body)
    base = signature_base(sig_input.components, method, url, headers, params)
    _check_signature(public_key, signature, base)

    if seen is not None:
        assert nonce is not None
        if not seen.check_and_add(keyid, nonce, created, now):
            raise SignatureError(
                "replayed", "signature nonce already used (or the replay cache is full)"
            )
    return keyid


# --------------------------------------------------------------------------------------------
# Responses (RFC 9421 §2.2.9 "@status")
# --------------------------------------------------------------------------------------------

#: What sign_response covers: the status and the body through its digest. The body of an
#: exchange answer names its request id, which binds the answer to the request.
RESPONSE_COMPONENTS: tuple[str, ...] = ("@status", "content-digest")


def response_signature_base(
    components: Sequence[str],
    status: int,
    headers: Mapping[str, str],
    params: Mapping[str, BareItem],
) -> bytes:
    """The RFC 9421 §2.5 signature base for a response: ``@status`` and header fields only
    (a response has no method or target; request components with ``;req`` are not used)."""
    if not 100 <= status <= 999:
        raise SignatureError("malformed-signature", f"status {status} is not three digits")
    lines = []
    for name in components:
        if name == "@status":
            lines.append(f'"@status": {status}\n')
        elif name.startswith("@"):
            raise SignatureError(
                "malformed-signature", f"derived component {name!r} is not for responses"
            )
        else:
            lines.append(f'"{name}": {_header_component(name, headers)}\n')
    lines.append(f'"@signature-params": {signature_params(components, params)}')
    return _ascii("".join(lines))


def sign_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    key_id: str,
    private_key: Ed25519PrivateKey,
    created: int | None = None,
    nonce: str | None = None,
    label: str = DEFAULT_LABEL,
) -> dict[str, str]:
    """Sign a response over ``@status`` and ``content-digest``; return the header fields to
    add (``Content-Digest``, ``Signature-Input``, ``Signature``), as `sign_request` does."""
    return _sign(
        RESPONSE_COMPONENTS,
        lambda signed, params: response_signature_base(RESPONSE_COMPONENTS, status, signed, params),
        headers,
        body,
        key_id,
        private_key,
        created,
        nonce,
        label,
    )


def verify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    keys: Callable[[str], Ed25519PublicKey | None],
    now: int,
    max_skew: int = DEFAULT_MAX_SKEW,
    *,
    label: str = DEFAULT_LABEL,
) -> str:
    """Verify the signature labelled `label` on a response; return its keyid.

    The signature must cover ``@status`` and ``content-digest``, carry ``created`` within
    `max_skew` seconds of `now` and a ``keyid`` that `keys` knows. There is no replay cache:
    the caller checks that the body answers its own request (its request id).

    Raises SignatureError whose `reason` is one of `REASONS`.
    """
    sig_input, signature = _parse_signature_fields(headers, label)
    params = sig_input.params
    created = _int_param(params, "created")
    keyid = _str_param(params, "keyid")
    alg = _str_param(params, "alg")
    if created is None or keyid is None:
        raise SignatureError("malformed-signature", "the signature has no created or keyid")
    if alg is not None and alg != ALGORITHM:
        raise SignatureError("malformed-signature", f"alg {_short(alg)} is not {ALGORITHM}")
    missing = [c for c in RESPONSE_COMPONENTS if c not in sig_input.components]
    if missing:
        raise SignatureError(
            "missing-component", f"the signature does not cover {', '.join(missing)}"
        )
    if abs(now - created) > max_skew:
        raise SignatureError("expired", f"signature created {abs(now - created)} s from now")
    public_key = _known_key(keys, keyid)
    _check_digest(headers, body)
    base = response_signature_base(sig_input.components, status, headers, params)
    _check_signature(public_key, signature, base)
    return keyid
