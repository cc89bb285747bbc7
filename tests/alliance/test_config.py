"""The alliance file: well-formedness, signing by the founders, later versions by a quorum,
tamper detection, and the node's own check — pure functions, keys made in memory."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lunan.alliance import config as ac
from lunan.alliance.config import (
    Alliance,
    AllianceError,
    ChairTerm,
    Member,
    Signature,
    SignedAlliance,
)
from lunan.crypto import note
from lunan.crypto.canonical_json import canonical_json

# The four member cities and their GB/T 2260 codes (FACTS.md); 临沂 was the first chair.
CITIES = {"371300": "临沂", "370400": "枣庄", "370800": "济宁", "371700": "菏泽"}
LINYI, ZAOZHUANG, JINING, HEZE = CITIES
JINAN = "370100"  # 济南: not a member of 鲁南经济圈

# 示例数据 sample data: only "临沂 first" is a fact; the dates of the terms are invented.
TERMS = (
    ChairTerm(LINYI, date(2021, 5, 13), date(2022, 5, 12)),
    ChairTerm(ZAOZHUANG, date(2022, 5, 13), date(2023, 5, 12)),
    ChairTerm(JINING, date(2023, 5, 13), date(2024, 5, 12)),
    ChairTerm(HEZE, date(2024, 5, 13), date(2025, 5, 12)),
)


def private_key(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def log_signer(city: str, alliance_id: str = "lunan", seed: str = "") -> note.Signer:
    return note.Signer(f"{alliance_id}/{city}", private_key(f"log {city} {seed}"))


def witness_signer(city: str, alliance_id: str = "lunan") -> note.Signer:
    return note.Signer(
        f"{alliance_id}/{city}/witness",
        private_key(f"witness {city}"),
        key_type=note.COSIGNATURE_V1,
    )


def member(city: str, name: str | None = None, port: int | None = None) -> Member:
    return Member(
        city=city,
        name=name or CITIES.get(city, "济南"),
        url=f"http://127.0.0.1:{port or 8700 + int(city) % 97}",
        log_key=log_signer(city).vkey(),
        witness_key=witness_signer(city).vkey(),
    )


def lunan(**changes: object) -> Alliance:
    base = Alliance(
        id="lunan",
        name="鲁南经济圈",
        members=tuple(member(c) for c in CITIES),
        chair_terms=TERMS,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def signed_by(
    signed: SignedAlliance, cities: list[str], previous: SignedAlliance | None = None
) -> SignedAlliance:
    for city in cities:
        signed = ac.sign(signed, city, log_signer(city), previous)
    return signed


def founded() -> SignedAlliance:
    return signed_by(SignedAlliance(lunan()), list(CITIES))


# --- a valid alliance ------------------------------------------------------------------------


def test_signed_by_every_founder_verifies() -> None:
    signed = founded()
    alliance = ac.verify(signed)
    assert alliance == lunan()
    assert [s.city for s in signed.signatures] == list(CITIES)
    assert alliance.quorum_size() == 2
    assert alliance.member(LINYI) == member(LINYI)
    assert alliance.member(JINAN) is None


def test_the_signed_message_is_the_context_line_and_the_canonical_body() -> None:
    alliance = lunan()
    body = canonical_json(alliance.to_json())
    assert ac.message(alliance) == b"lunan-alliance/v1\n" + body
    assert ac.body_digest(alliance) == hashlib.sha256(body).hexdigest()
    signature = founded().signature(HEZE)
    assert signature is not None
    assert note.parse_vkey(member(HEZE).log_key).verify(ac.message(alliance), signature.signature)


def test_file_round_trips_and_signatures_do_not_depend_on_the_layout(tmp_path: Path) -> None:
    path = tmp_path / "alliance.json"
    ac.save(path, founded())
    assert ac.load(path) == founded()
    # Any layout of the same JSON verifies: the signature covers the canonical body.
    compact = json.dumps(json.loads(path.read_text("utf-8")), separators=(",", ":"))
    path.write_text(compact, "utf-8")
    assert ac.verify(ac.load(path)) == lunan()


def test_save_can_refuse_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "alliance.json"
    ac.save(path, founded(), overwrite=False)
    with pytest.raises(AllianceError, match="already exists"):
        ac.save(path, SignedAlliance(lunan()), overwrite=False)
    assert ac.load(path) == founded()


@pytest.mark.parametrize(("n", "quorum"), [(2, 1), (3, 2), (4, 2), (5, 3), (16, 8), (41, 21)])
def test_default_quorum_is_a_majority_of_the_other_members(n: int, quorum: int) -> None:
    cities = [f"37{i:04d}" for i in range(n)]
    alliance = Alliance("lunan", "鲁南经济圈", members=tuple(member(c, "城") for c in cities))
    assert alliance.quorum_size() == quorum


def test_explicit_quorum_must_be_between_1_and_n_minus_1() -> None:
    assert lunan(quorum=3).quorum_size() == 3
    ac.check_complete(lunan(quorum=1))
    with pytest.raises(AllianceError, match="quorum 0 must be an integer ≥ 1"):
        lunan(quorum=0)
    with pytest.raises(AllianceError, match=r"quorum 4 is out of range for 4 members.*1 to 3"):
        ac.check_complete(lunan(quorum=4))
    with pytest.raises(AllianceError, match="out of range"):
        ac.verify(signed_by(SignedAlliance(lunan(quorum=4)), []))


def test_chair_on_a_date() -> None:
    alliance = lunan()
    assert alliance.chair_on(date(2021, 5, 13)) == TERMS[0]
    chair = alliance.chair_on(date(2022, 5, 12))
    assert chair is not None and chair.city == LINYI
    assert alliance.chair_on(date(2022, 5, 13)) == TERMS[1]
    assert alliance.chair_on(date(2025, 5, 12)) == TERMS[3]
    assert alliance.chair_on(date(2021, 5, 12)) is None
    assert alliance.chair_on(date(2025, 5, 13)) is None
    gap = lunan(chair_terms=(TERMS[0], ChairTerm(JINING, date(2023, 1, 1), date(2023, 12, 31))))
    assert gap.chair_on(date(2022, 8, 1)) is None


# --- refused: unsigned, partly signed, tampered, foreign signatures ---------------------------


def test_unsigned_file_is_refused_as_unsigned() -> None:
    with pytest.raises(AllianceError, match=r"^unsigned: no member has signed version 1"):
        ac.verify(SignedAlliance(lunan()))


def test_partly_signed_file_names_the_missing_cities() -> None:
    partial = signed_by(SignedAlliance(lunan()), [LINYI, JINING])
    with pytest.raises(AllianceError) as e:
        ac.verify(partial)
    assert "not signed by every founding member: missing 枣庄 370400, 菏泽 371700" in str(e.value)
    assert "临沂" not in str(e.value) and "\n" not in str(e.value)


def test_a_url_changed_in_the_json_text_is_tampering(tmp_path: Path) -> None:
    path = tmp_path / "alliance.json"
    ac.save(path, founded())
    text = path.read_text("utf-8")
    assert text.count(member(JINING).url) == 1
    path.write_text(text.replace(member(JINING).url, "http://10.0.0.66:8703"), "utf-8")
    with pytest.raises(AllianceError, match=r"^tampered: the signature of 临沂 371300 does not"):
        ac.verify(ac.load(path))


def test_a_member_key_swapped_in_the_file_is_tampering() -> None:
    signed = founded()
    impostor = note.Signer(f"lunan/{HEZE}", private_key("impostor"))
    members = tuple(
        replace(m, log_key=impostor.vkey()) if m.city == HEZE else m
        for m in signed.alliance.members
    )
    forged = SignedAlliance(replace(signed.alliance, members=members), signed.signatures)
    with pytest.raises(AllianceError, match="tampered"):
        ac.verify(forged)


def test_a_signature_by_a_non_member_is_refused() -> None:
    signed = founded()
    outsider = Signature(JINAN, log_signer(JINAN).sign(ac.message(signed.alliance)))
    with pytest.raises(AllianceError, match="signature by 370100, which is not a member"):
        ac.verify(SignedAlliance(signed.alliance, (*signed.signatures, outsider)))


def test_a_signature_made_with_another_key_does_not_verify() -> None:
    signed = founded()
    wrong = Signature(LINYI, log_signer(LINYI, seed="other").sign(ac.message(signed.alliance)))
    others = tuple(s for s in signed.signatures if s.city != LINYI)
    with pytest.raises(AllianceError, match="tampered: the signature of 临沂 371300"):
        ac.verify(SignedAlliance(signed.alliance, (wrong, *others)))


def test_two_signatures_for_one_city_are_refused() -> None:
    signed = founded()
    with pytest.raises(AllianceError, match="'371300' appears twice"):
        SignedAlliance(signed.alliance, (*signed.signatures, signed.signatures[0]))


# --- signing -----------------------------------------------------------------------------------


def test_sign_refuses_a_non_member_and_a_key_that_is_not_the_listed_one() -> None:
    draft = SignedAlliance(lunan())
    with pytest.raises(AllianceError, match="370100 is not a member of alliance lunan"):
        ac.sign(draft, JINAN, log_signer(JINAN))
    with pytest.raises(AllianceError, match="not the log key the alliance lists for 临沂 371300"):
        ac.sign(draft, LINYI, log_signer(LINYI, seed="other"))
    with pytest.raises(AllianceError, match="not the log key"):
        ac.sign(draft, LINYI, witness_signer(LINYI))


def test_sign_again_is_idempotent_and_keeps_member_order() -> None:
    once = signed_by(SignedAlliance(lunan()), [HEZE, LINYI])
    assert [s.city for s in once.signatures] == [LINYI, HEZE]
    assert signed_by(once, [LINYI]) == once


def test_sign_refuses_to_add_to_a_body_changed_after_others_signed() -> None:
    signed = signed_by(SignedAlliance(lunan()), [LINYI])
    changed = SignedAlliance(replace(signed.alliance, name="鲁南"), signed.signatures)
    with pytest.raises(AllianceError, match="tampered"):
        ac.sign(changed, HEZE, log_signer(HEZE))


def test_sign_refuses_an_incomplete_draft() -> None:
    draft = SignedAlliance(Alliance("lunan", "鲁南经济圈", members=(member(LINYI),)))
    with pytest.raises(AllianceError, match=r"has 1 member.*at least 2"):
        ac.sign(draft, LINYI, log_signer(LINYI))


def test_add_member_drops_the_signatures() -> None:
    three = lunan(members=tuple(member(c) for c in list(CITIES)[:3]), chair_terms=TERMS[:3])
    signed = signed_by(SignedAlliance(three), [LINYI])
    grown = ac.add_member(signed, member(HEZE))
    assert grown.signatures == ()
    assert [m.city for m in grown.alliance.members] == list(CITIES)
    with pytest.raises(AllianceError, match="临沂 371300 is already a member"):
        ac.add_member(grown, member(LINYI, port=9999))


# --- later versions ----------------------------------------------------------------------------


def test_version_2_signed_by_a_quorum_of_version_1_verifies() -> None:
    v1 = founded()
    v2 = ac.next_version(v1, name="鲁南经济圈（扩大）")
    assert v2.alliance.version == 2
    assert v2.alliance.previous == ac.body_digest(v1.alliance)
    signed = signed_by(v2, [ZAOZHUANG, HEZE], v1)
    result = ac.verify_detail(signed, v1)
    assert result.alliance == signed.alliance
    assert [m.city for m in result.signed_by] == [ZAOZHUANG, HEZE]
    assert result.required == 2 and result.signers == v1.alliance


def test_version_2_signed_by_too_few_is_refused() -> None:
    v1 = founded()
    signed = signed_by(ac.next_version(v1), [JINING], v1)
    with pytest.raises(AllianceError) as e:
        ac.verify(signed, v1)
    assert "signed by 1 of the 4 members of version 1 (济宁 370800); it needs a quorum of 2" in str(
        e.value
    )


def test_version_2_needs_the_explicit_quorum_of_version_1() -> None:
    v1 = signed_by(SignedAlliance(lunan(quorum=3)), list(CITIES))
    two = signed_by(ac.next_version(v1), [LINYI, HEZE], v1)
    with pytest.raises(AllianceError, match="needs a quorum of 3"):
        ac.verify(two, v1)
    assert ac.verify(signed_by(two, [JINING], v1), v1).version == 2


def test_version_2_needs_its_previous_version_and_the_right_one() -> None:
    v1 = founded()
    signed = signed_by(ac.next_version(v1), [LINYI, HEZE], v1)
    with pytest.raises(AllianceError, match="signed by the members of version 1: give that file"):
        ac.verify(signed)
    other_v1 = signed_by(SignedAlliance(lunan(name="鲁南")), list(CITIES))
    with pytest.raises(AllianceError, match="does not follow the given version 1"):
        ac.verify(signed, other_v1)
    with pytest.raises(AllianceError, match="version 1 has no previous version"):
        ac.verify(v1, v1)


def test_new_members_of_version_2_do_not_sign_it() -> None:
    v1 = founded()
    v2 = ac.add_member(ac.next_version(v1), member(JINAN))
    with pytest.raises(AllianceError, match="370100 is not a member of version 1"):
        ac.sign(v2, JINAN, log_signer(JINAN), v1)
    quorum = signed_by(v2, [LINYI, JINING], v1)
    assert len(ac.verify(quorum, v1).members) == 5
    foreign = Signature(JINAN, log_signer(JINAN).sign(ac.message(v2.alliance)))
    with pytest.raises(
        AllianceError, match="signature by 370100, which is not a member of version"
    ):
        ac.verify(SignedAlliance(v2.alliance, (*quorum.signatures, foreign)), v1)


def test_verify_chain_checks_every_version_from_1() -> None:
    v1 = founded()
    v2 = signed_by(ac.next_version(v1), [LINYI, ZAOZHUANG], v1)
    v3 = signed_by(ac.next_version(v2, quorum=1), [HEZE, JINING], v2)
    assert ac.verify_chain([v3, v1, v2]).alliance == v3.alliance
    with pytest.raises(AllianceError, match="oldest file given is version 2"):
        ac.verify_chain([v2, v3])
    unsigned_v1 = SignedAlliance(v1.alliance)
    with pytest.raises(AllianceError, match=r"^earlier version 1: unsigned"):
        ac.verify_chain([unsigned_v1, v2])


# --- the node's own check ----------------------------------------------------------------------


def test_check_lists_node() -> None:
    alliance = ac.verify(founded())
    ac.check_lists_node(alliance, LINYI, log_signer(LINYI).vkey())
    with pytest.raises(AllianceError, match=r"^alliance file does not list this node 370100"):
        ac.check_lists_node(alliance, JINAN, log_signer(JINAN).vkey())
    other = log_signer(LINYI, seed="other").vkey()
    with pytest.raises(AllianceError, match=r"^alliance file lists a different key for 371300"):
        ac.check_lists_node(alliance, LINYI, other)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("city", ["37130", "3713000", "37130A", "３７１３００", ""])
def test_city_codes_must_be_six_digits(city: str) -> None:
    with pytest.raises(AllianceError, match="is not 6 digits: use the GB/T 2260 code"):
        member(LINYI).__class__(city, "临沂", "http://a:1", "x", "y")


def test_duplicate_city_is_refused() -> None:
    twice = (member(LINYI), member(ZAOZHUANG), replace(member(LINYI), url="http://b:1"))
    with pytest.raises(AllianceError, match="member city '371300' appears twice"):
        lunan(members=twice)


def test_duplicate_url_and_key_are_refused() -> None:
    with pytest.raises(AllianceError, match=r"member URL .* appears twice"):
        lunan(members=(member(LINYI, port=1), member(HEZE, port=1)))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://a:1",
        "http://",
        "http://a:1/",
        "http://a/path",
        "http://a:1?q",
        "http://u@a:1",
        "http://a:99999",
        "http://a:",
    ],
)
def test_urls_are_http_host_and_port_only(url: str) -> None:
    with pytest.raises(AllianceError, match=r"URL .* must be http\(s\)://host\[:port\]"):
        replace(member(LINYI), url=url)


def test_urls_that_are_fine() -> None:
    for url in ("http://127.0.0.1:8701", "https://lunan-linyi.example", "http://[::1]:8701"):
        assert replace(member(LINYI), url=url).url == url


def test_keys_must_have_the_right_type_and_name() -> None:
    with pytest.raises(AllianceError, match="log_key has key type 0x04; it must be 0x01"):
        replace(member(LINYI), log_key=witness_signer(LINYI).vkey())
    with pytest.raises(AllianceError, match="witness_key has key type 0x01; it must be 0x04"):
        replace(member(LINYI), witness_key=log_signer(LINYI).vkey())
    with pytest.raises(AllianceError, match="log_key is not a valid vkey"):
        replace(member(LINYI), log_key="lunan/371300+00000000+AAAA")
    wrong_name = replace(member(LINYI), log_key=log_signer(LINYI, alliance_id="other").vkey())
    with pytest.raises(AllianceError, match="named 'other/371300'; it must be the log origin"):
        lunan(members=(wrong_name, member(HEZE)))


def test_a_chair_term_must_name_a_member() -> None:
    term = ChairTerm(JINAN, date(2025, 5, 13), date(2026, 5, 12))
    draft = lunan(chair_terms=(*TERMS, term))  # a draft may name cities not yet added
    with pytest.raises(AllianceError, match="names 370100, which is not a member"):
        ac.check_complete(draft)
    with pytest.raises(AllianceError, match="not a member"):
        ac.verify(SignedAlliance(draft))


def test_chair_terms_are_ordered_and_do_not_overlap() -> None:
    overlapping = ChairTerm(ZAOZHUANG, date(2022, 5, 12), date(2023, 5, 12))
    with pytest.raises(AllianceError, match=r"overlaps the term 371300 2021-05-13..2022-05-12"):
        lunan(chair_terms=(TERMS[0], overlapping))
    with pytest.raises(AllianceError, match="comes before the term"):
        lunan(chair_terms=(TERMS[1], TERMS[0]))
    with pytest.raises(AllianceError, match="starts 2022-05-12 after it ends 2021-05-13"):
        ChairTerm(LINYI, date(2022, 5, 12), date(2021, 5, 13))
    one_day = ChairTerm(LINYI, date(2021, 5, 13), date(2021, 5, 13))
    assert lunan(chair_terms=(one_day,)).chair_on(date(2021, 5, 13)) == one_day


@pytest.mark.parametrize(
    "text", ["2021-5-13", "2021-02-30", "20210513", "2021/05/13", "２０２１-05-13"]
)
def test_dates_are_iso_days(text: str) -> None:
    with pytest.raises(AllianceError, match="is not a date YYYY-MM-DD"):
        ac.parse_term(f"371300:{text}:2022-05-12")


def test_parse_term() -> None:
    assert ac.parse_term("371300:2021-05-13:2022-05-12") == TERMS[0]
    with pytest.raises(AllianceError, match="must be CITY:START:END"):
        ac.parse_term("371300:2021-05-13")


@pytest.mark.parametrize("alliance_id", ["Lunan", "", "-lunan", "lu nan", "lunan/x", "a" * 64])
def test_alliance_id_format(alliance_id: str) -> None:
    with pytest.raises(AllianceError, match="must be lower-case letters, digits"):
        Alliance(alliance_id, "鲁南经济圈")


def test_names_must_not_be_empty() -> None:
    with pytest.raises(AllianceError, match="alliance name is empty"):
        Alliance("lunan", " ")
    with pytest.raises(AllianceError, match="member 371300 has an empty name"):
        replace(member(LINYI), name="")


def test_version_and_previous_go_together() -> None:
    with pytest.raises(AllianceError, match="version 0 must be an integer ≥ 1"):
        Alliance("lunan", "鲁南经济圈", version=0)
    with pytest.raises(AllianceError, match="version 2 must name the previous version"):
        Alliance("lunan", "鲁南经济圈", version=2)
    with pytest.raises(AllianceError, match="version 1 has no previous version"):
        Alliance("lunan", "鲁南经济圈", previous="0" * 64)


def file_json(**body_changes: object) -> bytes:
    value = founded().to_json()
    value["alliance"].update(body_changes)
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"{", "not valid JSON"),
        (b'{"alliance": {}, "alliance": {}, "signatures": []}', "duplicate object key"),
        (b"[]", "the alliance file must be a JSON object"),
        (b'{"alliance": {}}', "the alliance file lacks signatures"),
        (file_json(extra=1), "unknown field(s) 'extra'"),
        (file_json(v=2), "format v 2 is not supported"),
        (file_json(version=True), "must be an integer"),
        (file_json(version=1.5), "must be an integer"),
        (file_json(quorum="2"), "quorum '2' must be an integer"),
        (file_json(members={}), "members must be a JSON array"),
    ],
)
def test_malformed_files_are_refused(data: bytes, error: str) -> None:
    with pytest.raises(AllianceError) as e:
        ac.loads(data)
    assert error in str(e.value)


def test_signatures_must_be_canonical_base64_of_64_bytes() -> None:
    value = founded().to_json()
    value["signatures"][0]["signature"] = base64.b64encode(b"x" * 63).decode()
    with pytest.raises(AllianceError, match="not a 64-byte Ed25519 signature"):
        ac.loads(json.dumps(value).encode())
    value["signatures"][0]["signature"] = "not base64!"
    with pytest.raises(AllianceError, match="not canonical base64"):
        ac.loads(json.dumps(value).encode())


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AllianceError, match=r"cannot read alliance file .*No such file"):
        ac.load(tmp_path / "nope.json")


def test_open_for_node_says_which_problem(tmp_path: Path) -> None:
    path = tmp_path / "alliance.json"
    linyi = log_signer(LINYI).vkey()
    ac.save(path, founded())
    assert ac.open_for_node(path, LINYI, linyi) == lunan()
    with pytest.raises(AllianceError, match=r"alliance.json: alliance file does not list this"):
        ac.open_for_node(path, JINAN, log_signer(JINAN).vkey())
    ac.save(path, SignedAlliance(lunan()))
    with pytest.raises(AllianceError, match=r"alliance.json: unsigned"):
        ac.open_for_node(path, LINYI, linyi)
    ac.save(path, signed_by(SignedAlliance(lunan()), [LINYI]))
    with pytest.raises(AllianceError, match=r"missing 枣庄 370400, 济宁 370800, 菏泽 371700"):
        ac.open_for_node(path, LINYI, linyi)
    v1, v2 = tmp_path / "v1.json", tmp_path / "v2.json"
    ac.save(v1, founded())
    ac.save(v2, signed_by(ac.next_version(founded()), [LINYI, HEZE], founded()))
    assert ac.open_for_node(v2, LINYI, linyi, previous=[v1]).version == 2
    with pytest.raises(AllianceError, match=r"v2.json: version 2 is signed by the members of"):
        ac.open_for_node(v2, LINYI, linyi)
