"""The alliance file: who the members are, their keys, the witness quorum and the chair terms.

One JSON file describes the alliance (DESIGN §1, §3.3)::

    {"alliance": {"v": 1, "id": "lunan", "name": "鲁南经济圈", "version": 1, "previous": null,
                  "members": [{"city", "name", "url", "log_key", "witness_key"}, …],
                  "quorum": null,
                  "chair_terms": [{"city", "start", "end"}, …]},
     "signatures": [{"city": "371300", "signature": "<base64 Ed25519>"}, …]}

The body ("alliance") is signed by members' log keys (the node.key of each node) over
``b"lunan-alliance/v1\\n" + canonical_json(body)`` (RFC 8785). Who must sign:

- version 1: every member it lists (the founding members);
- version N ≥ 2: ``previous`` is the hex SHA-256 of version N-1's canonical body, and at least
  ``q`` distinct members *of version N-1* sign it with the log keys version N-1 lists, where
  ``q`` is version N-1's witness quorum (`Alliance.quorum_size`). Members that version N adds
  do not sign it (they have no standing yet); a signature by a city that is not in the signing
  set is an error, not ignored.

Rules are checked in two steps. Every `Alliance` is well formed (formats, uniqueness, term
order): it cannot be built otherwise. A draft may still lack members, so `check_complete`
(at least two members, quorum ≤ n-1, chair terms name members) runs only when signing or
verifying.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lunan.crypto import note
from lunan.crypto.canonical_json import CanonicalJSONError, canonical_json, canonical_loads

FORMAT = 1
SIGNING_CONTEXT = b"lunan-alliance/v1\n"
SIGNATURE_SIZE = 64

_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")  # the same rule as a node's alliance id
_CITY = re.compile(r"^[0-9]{6}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")

_FILE_KEYS = {"alliance", "signatures"}
_BODY_KEYS = {"v", "id", "name", "version", "previous", "members", "quorum", "chair_terms"}
_MEMBER_KEYS = {"city", "name", "url", "log_key", "witness_key"}
_TERM_KEYS = {"city", "start", "end"}
_SIGNATURE_KEYS = {"city", "signature"}


class AllianceError(ValueError):
    """An alliance file that is malformed, incomplete or not validly signed; the one-line
    message says what is wrong and how to fix it."""


def _short(value: object) -> str:
    s = repr(value)
    return s if len(s) <= 60 else s[:57] + "..."


def check_city(city: object, what: str = "city code") -> str:
    if not isinstance(city, str) or not _CITY.match(city):
        raise AllianceError(
            f"{what} {_short(city)} is not 6 digits: use the GB/T 2260 code, e.g. 371300 for 临沂"
        )
    return city


def check_url(url: object, what: str = "member URL") -> str:
    if not isinstance(url, str):
        raise AllianceError(f"{what} must be a string like http://host:port")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
        or url != f"{parts.scheme}://{parts.netloc}"
        or (port is None and parts.netloc.endswith(":"))
    ):
        raise AllianceError(
            f"{what} {_short(url)} must be http(s)://host[:port], with no path, "
            "query or trailing '/'"
        )
    return url


def parse_date(value: object, what: str = "date") -> date:
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise AllianceError(f"{what} {_short(value)} is not a date YYYY-MM-DD, e.g. 2021-05-13")


def _parse_vkey(vkey: object, key_type: int, what: str) -> note.Verifier:
    if not isinstance(vkey, str):
        raise AllianceError(f"{what} must be a vkey string <name>+<key ID>+<base64 key>")
    try:
        verifier = note.parse_vkey(vkey)
    except note.NoteError as e:
        raise AllianceError(f"{what} is not a valid vkey: {e}") from None
    if verifier.key_type != key_type:
        raise AllianceError(
            f"{what} has key type {verifier.key_type:#04x}; it must be {key_type:#04x} "
            + ("(Ed25519 log key)" if key_type == note.ED25519 else "(Ed25519 cosignature key)")
        )
    return verifier


def short_key(vkey: str) -> str:
    """A vkey without its base64 key: "<name>+<key ID>", enough to tell keys apart."""
    return "+".join(vkey.split("+", 2)[:2])  # the base64 part may itself contain '+'


def key_id_hex(vkey: str) -> str:
    """The 8 hex digits of a vkey's key ID."""
    return vkey.split("+", 2)[1]


@dataclass(frozen=True)
class Member:
    """A member city: GB/T 2260 code, name, node URL, log key (type 0x01, named after the
    log origin ``<alliance id>/<city>``) and witness key (type 0x04)."""

    city: str
    name: str
    url: str
    log_key: str
    witness_key: str

    def __post_init__(self) -> None:
        check_city(self.city, "member city code")
        label = f"member {self.city}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise AllianceError(f"{label} has an empty name: give the city name, e.g. 临沂")
        check_url(self.url, f"{label} URL")
        _parse_vkey(self.log_key, note.ED25519, f"{label} log_key")
        _parse_vkey(self.witness_key, note.COSIGNATURE_V1, f"{label} witness_key")

    @property
    def label(self) -> str:
        """ "临沂 371300", for messages."""
        return f"{self.name} {self.city}"

    def log_verifier(self) -> note.Verifier:
        return note.parse_vkey(self.log_key)

    def witness_verifier(self) -> note.Verifier:
        return note.parse_vkey(self.witness_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "name": self.name,
            "url": self.url,
            "log_key": self.log_key,
            "witness_key": self.witness_key,
        }


@dataclass(frozen=True)
class ChairTerm:
    """A rotating chair term (轮值城市), both days included, in Asia/Shanghai dates."""

    city: str
    start: date
    end: date

    def __post_init__(self) -> None:
        check_city(self.city, "chair term city code")
        if not all(type(d) is date for d in (self.start, self.end)):
            raise AllianceError("chair term start and end must be dates (not times)")
        if self.start > self.end:
            raise AllianceError(
                f"chair term of {self.city} starts {self.start} after it ends {self.end}: "
                "swap the dates"
            )

    def __str__(self) -> str:
        return f"{self.city} {self.start}..{self.end}"

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def to_json(self) -> dict[str, Any]:
        return {"city": self.city, "start": self.start.isoformat(), "end": self.end.isoformat()}


def _check_unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise AllianceError(f"{what} {_short(v)} appears twice: list each member once")
        seen.add(v)


@dataclass(frozen=True)
class Alliance:
    """The signed body of an alliance file. Always well formed; see `check_complete`."""

    id: str
    name: str
    version: int = 1
    previous: str | None = None
    members: tuple[Member, ...] = ()
    quorum: int | None = None
    chair_terms: tuple[ChairTerm, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        object.__setattr__(self, "chair_terms", tuple(self.chair_terms))
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise AllianceError(
                f"alliance id {_short(self.id)} must be lower-case letters, digits, '.' or '-' "
                "(at most 63), e.g. lunan"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise AllianceError("alliance name is empty: give one, e.g. 鲁南经济圈")
        if not _is_int(self.version) or self.version < 1:
            raise AllianceError(f"alliance version {_short(self.version)} must be an integer ≥ 1")
        if self.version == 1 and self.previous is not None:
            raise AllianceError("version 1 has no previous version: set previous to null")
        if self.version > 1 and not (
            isinstance(self.previous, str) and _DIGEST.match(self.previous)
        ):
            raise AllianceError(
                f"version {self.version} must name the previous version in `previous` as the "
                "64 lower-case hex digits of its SHA-256 (`lunan alliance new --previous FILE`)"
            )
        for m in self.members:
            if not isinstance(m, Member):
                raise AllianceError("members must be Member objects")
            expected = f"{self.id}/{m.city}"
            name = note.parse_vkey(m.log_key).name
            if name != expected:
                raise AllianceError(
                    f"member {m.city} log_key is named {_short(name)}; it must be the log origin "
                    f"{expected!r} (`lunan key show` on that node prints it)"
                )
        _check_unique((m.city for m in self.members), "member city")
        _check_unique((m.url for m in self.members), "member URL")
        _check_unique((m.log_key for m in self.members), "log_key")
        _check_unique((m.witness_key for m in self.members), "witness_key")
        if self.quorum is not None and (not _is_int(self.quorum) or self.quorum < 1):
            raise AllianceError(
                f"quorum {_short(self.quorum)} must be an integer ≥ 1, or null for the default "
                "(a majority of the other members)"
            )
        for before, after in zip(self.chair_terms, self.chair_terms[1:], strict=False):
            if after.start <= before.end:
                problem = "overlaps" if after.start >= before.start else "comes before"
                raise AllianceError(
                    f"chair term {after} {problem} the term {before}: list terms in date order, "
                    "each starting after the one before ends"
                )

    def member(self, city: str) -> Member | None:
        return next((m for m in self.members if m.city == city), None)

    def quorum_size(self) -> int:
        """How many *other* members must cosign a checkpoint for it to be final: the explicit
        quorum, or by default a majority of the other members, ``(n - 1) // 2 + 1``."""
        if self.quorum is not None:
            return self.quorum
        return (len(self.members) - 1) // 2 + 1

    def chair_on(self, day: date) -> ChairTerm | None:
        """The chair term covering `day`, or None in a gap or outside every term."""
        return next((t for t in self.chair_terms if t.covers(day)), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": FORMAT,
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "previous": self.previous,
            "members": [m.to_json() for m in self.members],
            "quorum": self.quorum,
            "chair_terms": [t.to_json() for t in self.chair_terms],
        }

    @classmethod
    def from_json(cls, value: object) -> Alliance:
        body = _object(value, _BODY_KEYS, "the alliance body")
        if body["v"] != FORMAT or not _is_int(body["v"]):
            raise AllianceError(
                f"alliance format v {_short(body['v'])} is not supported: this program reads v1"
            )
        members = _array(body["members"], "members")
        terms = _array(body["chair_terms"], "chair_terms")
        return cls(
            id=body["id"],
            name=body["name"],
            version=body["version"],
            previous=body["previous"],
            members=tuple(_member(m, i) for i, m in enumerate(members)),
            quorum=body["quorum"],
            chair_terms=tuple(_term(t, i) for i, t in enumerate(terms)),
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(value: object, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AllianceError(f"{what} must be a JSON object")
    missing = sorted(keys - value.keys())
    if missing:
        raise AllianceError(f"{what} lacks {', '.join(missing)}")
    extra = sorted(value.keys() - keys)
    if extra:
        raise AllianceError(f"{what} has unknown field(s) {', '.join(map(_short, extra))}")
    return value


def _array(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise AllianceError(f"{what} must be a JSON array")
    return value


def _member(value: object, i: int) -> Member:
    m = _object(value, _MEMBER_KEYS, f"member #{i + 1}")
    return Member(m["city"], m["name"], m["url"], m["log_key"], m["witness_key"])


def _term(value: object, i: int) -> ChairTerm:
    t = _object(value, _TERM_KEYS, f"chair term #{i + 1}")
    what = f"chair term #{i + 1}"
    return ChairTerm(
        check_city(t["city"], f"{what} city code"),
        parse_date(t["start"], f"{what} start"),
        parse_date(t["end"], f"{what} end"),
    )


def parse_term(text: str) -> ChairTerm:
    """ "371300:2021-05-13:2022-05-12" → ChairTerm (the --term option)."""
    parts = text.split(":")
    if len(parts) != 3:
        raise AllianceError(
            f"chair term {_short(text)} must be CITY:START:END, e.g. 371300:2021-05-13:2022-05-12"
        )
    city, start, end = parts
    return ChairTerm(check_city(city), parse_date(start, "term start"), parse_date(end, "term end"))


def check_complete(alliance: Alliance) -> None:
    """The rules a draft may break but a signed alliance may not: at least two members, a
    quorum between 1 and n-1, and every chair term naming a member."""
    n = len(alliance.members)
    if n < 2:
        raise AllianceError(
            f"alliance {alliance.id} has {n} member(s); it needs at least 2: "
            "add them with `lunan alliance add-member`"
        )
    if alliance.quorum is not None and not 1 <= alliance.quorum <= n - 1:
        default = (n - 1) // 2 + 1
        raise AllianceError(
            f"quorum {alliance.quorum} is out of range for {n} members: it counts the *other* "
            f"members, so use 1 to {n - 1}, or null for the default {default}"
        )
    for term in alliance.chair_terms:
        if alliance.member(term.city) is None:
            raise AllianceError(
                f"chair term {term} names {term.city}, which is not a member: "
                "add the member or fix the term"
            )


# --- signatures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    city: str
    signature: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_city(self.city, "signature city code")
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_SIZE:
            raise AllianceError(
                f"signature of {self.city} is not a {SIGNATURE_SIZE}-byte Ed25519 signature"
            )

    def to_json(self) -> dict[str, Any]:
        return {"city": self.city, "signature": base64.b64encode(self.signature).decode("ascii")}


@dataclass(frozen=True)
class SignedAlliance:
    """An alliance file: the body and the signatures over it (checked only by `verify`)."""

    alliance: Alliance
    signatures: tuple[Signature, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "signatures", tuple(self.signatures))
        _check_unique((s.city for s in self.signatures), "signature of city")

    def signature(self, city: str) -> Signature | None:
        return next((s for s in self.signatures if s.city == city), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "alliance": self.alliance.to_json(),
            "signatures": [s.to_json() for s in self.signatures],
        }

    @classmethod
    def from_json(cls, value: object) -> SignedAlliance:
        top = _object(value, _FILE_KEYS, "the alliance file")
        alliance = Alliance.from_json(top["alliance"])
        signatures = []
        for i, item in enumerate(_array(top["signatures"], "signatures")):
            s = _object(item, _SIGNATURE_KEYS, f"signature #{i + 1}")
            city = check_city(s["city"], f"signature #{i + 1} city code")
            signatures.append(Signature(city, _b64decode(s["signature"], city)))
        return cls(alliance, tuple(signatures))


def _b64decode(value: object, city: str) -> bytes:
    # Canonical base64 only, so that a signature has one spelling.
    try:
        if not isinstance(value, str):
            raise ValueError
        raw = binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
        if base64.b64encode(raw).decode("ascii") != value:
            raise ValueError
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raise AllianceError(f"signature of {city} is not canonical base64") from None
    return raw


def message(alliance: Alliance) -> bytes:
    """The bytes members sign: the context line, then the RFC 8785 canonical body."""
    return SIGNING_CONTEXT + canonical_json(alliance.to_json())


def body_digest(alliance: Alliance) -> str:
    """Hex SHA-256 of the canonical body: what the next version names as `previous`."""
    return hashlib.sha256(canonical_json(alliance.to_json())).hexdigest()


def _signing_set(signed: SignedAlliance, previous: SignedAlliance | None) -> Alliance:
    """The alliance whose members sign `signed`: itself for version 1, else the previous
    version, after checking that `signed` really follows it."""
    a = signed.alliance
    if a.version == 1:
        if previous is not None:
            raise AllianceError("version 1 has no previous version: do not pass one")
        return a
    if previous is None:
        raise AllianceError(
            f"version {a.version} is signed by the members of version {a.version - 1}: "
            f"give that file too (--previous)"
        )
    p = previous.alliance
    if p.id != a.id:
        raise AllianceError(
            f"the previous file is alliance {p.id!r}, not {a.id!r}: give the right file"
        )
    if p.version != a.version - 1:
        raise AllianceError(
            f"the previous file is version {p.version}; version {a.version} follows version "
            f"{a.version - 1}: give that file"
        )
    digest = body_digest(p)
    if a.previous != digest:
        raise AllianceError(
            f"version {a.version} does not follow the given version {p.version}: it names "
            f"previous {a.previous and a.previous[:16]}…, the given file's body is "
            f"{digest[:16]}…; the previous file was changed, or this version was made from "
            "another one"
        )
    return p


def _check_signatures(signed: SignedAlliance, signers: Alliance) -> list[Member]:
    """Each signature must come from a member of `signers` and verify; return those members."""
    msg = message(signed.alliance)
    good = []
    for s in signed.signatures:
        m = signers.member(s.city)
        if m is None:
            whose = "this version" if signers is signed.alliance else f"version {signers.version}"
            raise AllianceError(
                f"signature by {s.city}, which is not a member of {whose}: "
                "only members sign; remove that signature"
            )
        if not m.log_verifier().verify(msg, s.signature):
            raise AllianceError(
                f"tampered: the signature of {m.label} does not verify, so the file was changed "
                "after it was signed (or signed with another key); get the signed file again"
            )
        good.append(m)
    return good


def sign(
    signed: SignedAlliance,
    city: str,
    signer: note.Signer,
    previous: SignedAlliance | None = None,
) -> SignedAlliance:
    """Add (or renew) `city`'s signature made with its log key `signer`.

    Refuses when the body is incomplete, when `city` is not in the signing set (see the module
    docstring) or its key there is not `signer`'s, and when a signature already present does
    not verify (someone changed the body after it was signed).
    """
    check_complete(signed.alliance)
    signers = _signing_set(signed, previous)
    m = signers.member(city)
    if m is None:
        whose = "" if signers is signed.alliance else f" of version {signers.version}"
        raise AllianceError(
            f"{city} is not a member{whose} of alliance {signers.id}, so it cannot sign: "
            "add it with `lunan alliance add-member` first"
        )
    if signer.key_type != note.ED25519 or signer.vkey() != m.log_key:
        raise AllianceError(
            f"this key {short_key(signer.vkey())} is not the log key the alliance lists for "
            f"{m.label} ({short_key(m.log_key)}): sign on that member's own node"
        )
    others = SignedAlliance(signed.alliance, tuple(s for s in signed.signatures if s.city != city))
    _check_signatures(others, signers)
    new = Signature(city, signer.sign(message(signed.alliance)))
    order = {mm.city: i for i, mm in enumerate(signers.members)}
    sigs = sorted((*others.signatures, new), key=lambda s: order.get(s.city, len(order)))
    return SignedAlliance(signed.alliance, tuple(sigs))


@dataclass(frozen=True)
class Verified:
    """What `verify_detail` found: the alliance, who signed, and out of which members."""

    alliance: Alliance
    signed_by: tuple[Member, ...]
    signers: Alliance  # the version whose members sign: itself (v1) or the previous one
    required: int


def verify_detail(signed: SignedAlliance, previous: SignedAlliance | None = None) -> Verified:
    """`verify`, returning who signed as well."""
    a = signed.alliance
    check_complete(a)
    signers = _signing_set(signed, previous)
    if not signed.signatures:
        how = (
            "every founding member must sign it"
            if a.version == 1
            else f"{signers.quorum_size()} members of version {signers.version} must sign it"
        )
        raise AllianceError(
            f"unsigned: no member has signed version {a.version}; {how} with "
            "`lunan alliance sign --dir NODE_DIR FILE`"
        )
    good = _check_signatures(signed, signers)
    if a.version == 1:
        required = len(a.members)
        missing = [m for m in a.members if m not in good]
        if missing:
            raise AllianceError(
                f"not signed by every founding member: missing {_labels(missing)}; run "
                "`lunan alliance sign --dir NODE_DIR FILE` on their nodes"
            )
    else:
        required = signers.quorum_size()
        if len(good) < required:
            raise AllianceError(
                f"version {a.version} is signed by {len(good)} of the {len(signers.members)} "
                f"members of version {signers.version} ({_labels(good)}); it needs a quorum of "
                f"{required}: run `lunan alliance sign --dir NODE_DIR --previous PREV FILE` "
                "on more of their nodes"
            )
    return Verified(a, tuple(good), signers, required)


def verify(signed: SignedAlliance, previous: SignedAlliance | None = None) -> Alliance:
    """The alliance, if `signed` is complete and validly signed; else AllianceError.

    Version 1 needs every member's signature. Version N ≥ 2 needs `previous` (version N-1,
    whose body must hash to N's `previous`) and a quorum of N-1's members. `previous` itself
    is taken as already verified; `verify_chain` checks a whole history.
    """
    return verify_detail(signed, previous).alliance


def verify_chain(versions: Sequence[SignedAlliance]) -> Verified:
    """Verify versions 1, 2, …, N of one alliance (in any order), each against the one
    before; return what `verify_detail` found for version N."""
    if not versions:
        raise AllianceError("no alliance file given")
    chain = sorted(versions, key=lambda s: s.alliance.version)
    if len(chain) == 1 and chain[0].alliance.version > 1:
        v = chain[0].alliance.version
        raise AllianceError(
            f"version {v} is signed by the members of version {v - 1}: give every earlier "
            "version, from 1 on (--previous)"
        )
    if chain[0].alliance.version != 1:
        raise AllianceError(
            f"the oldest file given is version {chain[0].alliance.version}: give every version "
            "from 1 on, so that each is checked against the one before"
        )
    previous: SignedAlliance | None = None
    result: Verified | None = None
    for s in chain:
        if previous is not None and s.alliance.version == previous.alliance.version:
            raise AllianceError(f"two files are version {s.alliance.version}: give one")
        try:
            result = verify_detail(s, previous)
        except AllianceError as e:
            if s is chain[-1]:
                raise
            raise AllianceError(f"earlier version {s.alliance.version}: {e}") from None
        previous = s
    assert result is not None
    return result


def _labels(members: Sequence[Member]) -> str:
    return ", ".join(m.label for m in members) or "none"


def check_lists_node(alliance: Alliance, city: str, log_vkey: str) -> None:
    """Raise unless `alliance` lists `city` with exactly this log key (a node's own check)."""
    m = alliance.member(city)
    if m is None:
        raise AllianceError(
            f"alliance file does not list this node {city}: use the alliance's file, or have "
            "the members add this node in a new version"
        )
    if m.log_key != log_vkey:
        raise AllianceError(
            f"alliance file lists a different key for {city}: {short_key(m.log_key)}, "
            f"but this node's key is {short_key(log_vkey)}; check --dir and the file"
        )


def open_for_node(path: Path, city: str, log_vkey: str, previous: Sequence[Path] = ()) -> Alliance:
    """What a node checks at start: the file (with its earlier versions, from 1 on, when it
    is version 2 or later) verifies, and it lists this node with this log key. Each failure
    is one line saying which: unsigned, missing signatures, tampered, not listed, …"""
    versions = [load(p) for p in (*previous, path)]
    try:
        alliance = verify_chain(versions).alliance
        check_lists_node(alliance, city, log_vkey)
    except AllianceError as e:
        raise AllianceError(f"{path}: {e}") from None
    return alliance


# --- building new bodies ----------------------------------------------------------------------


def add_member(signed: SignedAlliance, member: Member) -> SignedAlliance:
    """The file with `member` appended. The body changes, so every signature is dropped."""
    a = signed.alliance
    existing = a.member(member.city)
    if existing is not None:
        raise AllianceError(
            f"{existing.label} is already a member: each city is listed once "
            "(edit the unsigned file to change its entry)"
        )
    body = Alliance(
        a.id, a.name, a.version, a.previous, (*a.members, member), a.quorum, a.chair_terms
    )
    return SignedAlliance(body, ())


def next_version(
    previous: SignedAlliance,
    name: str | None = None,
    quorum: int | None = None,
    terms: Sequence[ChairTerm] = (),
) -> SignedAlliance:
    """An unsigned version N+1 of `previous`: same members, `previous` set to its digest,
    `name` and `quorum` replaced when given, `terms` appended to its chair terms."""
    p = previous.alliance
    body = Alliance(
        id=p.id,
        name=p.name if name is None else name,
        version=p.version + 1,
        previous=body_digest(p),
        members=p.members,
        quorum=p.quorum if quorum is None else quorum,
        chair_terms=(*p.chair_terms, *terms),
    )
    return SignedAlliance(body, ())


# --- files --------------------------------------------------------------------------------------


def loads(data: bytes) -> SignedAlliance:
    try:
        value = canonical_loads(data)
    except CanonicalJSONError as e:
        raise AllianceError(f"not valid JSON: {e}") from None
    return SignedAlliance.from_json(value)


def dumps(signed: SignedAlliance) -> bytes:
    """Indented UTF-8 JSON: signatures cover the canonical body, not this layout."""
    return (json.dumps(signed.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def load(path: Path) -> SignedAlliance:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise AllianceError(f"cannot read alliance file {path}: {e.strerror}") from None
    try:
        return loads(data)
    except AllianceError as e:
        raise AllianceError(f"{path}: {e}") from None


def save(path: Path, signed: SignedAlliance, *, overwrite: bool = True) -> None:
    """Write the file atomically; with overwrite=False refuse an existing file."""
    data = dumps(signed)
    if not overwrite:
        try:
            with path.open("xb") as f:
                f.write(data)
        except FileExistsError:
            raise AllianceError(f"{path} already exists: choose another file name") from None
        except OSError as e:
            raise AllianceError(f"cannot write {path}: {e.strerror}") from None
        return
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise AllianceError(f"cannot write {path}: {e.strerror}") from None
