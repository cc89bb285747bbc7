"""`lunan alliance …` end to end with four real node directories (the Typer sub-app in-process)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from factories import make_node
from typer.testing import CliRunner, Result

from lunan import node
from lunan.alliance import cli as alliance_cli
from lunan.alliance import config as ac
from lunan.alliance.cli import alliance_app
from lunan.crypto.keys import create_key_file

# GB/T 2260 codes of the four member cities (FACTS.md), 临沂 (the first chair) first.
CITIES = {"371300": "临沂", "370400": "枣庄", "370800": "济宁", "371700": "菏泽"}
LINYI, ZAOZHUANG, JINING, HEZE = CITIES
# 示例数据 sample data: the term dates are invented; only "临沂 first" is a fact.
TERMS = [
    "371300:2021-05-13:2022-05-12",
    "370400:2022-05-13:2023-05-12",
    "370800:2023-05-13:2024-05-12",
    "371700:2024-05-13:2025-05-12",
]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(alliance_app, [str(a) for a in args])


def one_error_line(result: Result) -> str:
    """The single `错误 error: …` line a failing command prints to stderr."""
    assert result.stdout == ""
    assert result.stderr.startswith("错误 error: ") and result.stderr.count("\n") == 1, (
        result.stderr
    )
    return result.stderr


def node_dir(base: Path, city: str, name: str, port: int, alliance: str = "lunan") -> Path:
    directory = make_node(
        base / city,
        alliance=alliance,
        city=city,
        name=name,
        origin=f"{alliance}/{city}",
        url=f"http://127.0.0.1:{port}",
    )
    if not (directory / node.WITNESS_KEY_FILE).exists():  # nodes made before witnessing
        create_key_file(directory / node.WITNESS_KEY_FILE)
    return directory


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Node directories of the four cities, plus 济南 (not a member) and a node of another
    alliance; made once, because the tests only read them."""
    base = tmp_path_factory.mktemp("nodes")
    dirs = {
        city: node_dir(base, city, name, 8701 + i) for i, (city, name) in enumerate(CITIES.items())
    }
    dirs["370100"] = node_dir(base, "370100", "济南", 8705)
    dirs["other"] = node_dir(base / "other", "371300", "临沂", 8706, alliance="other")
    return dirs


def log_vkey(directory: Path) -> str:
    config = node.load_config(directory)
    return node.signer(config, node.load_key(directory)).vkey()


def drafted(path: Path, nodes: dict[str, Path], *new_args: str) -> Path:
    """new + add-member for the four cities: an unsigned, complete version 1."""
    assert run("new", path, "--id", "lunan", "--name", "鲁南经济圈", *new_args).exit_code == 0
    for city in CITIES:
        result = run("add-member", path, "--dir", nodes[city])
        assert result.exit_code == 0, result.output
    return path


def founded(path: Path, nodes: dict[str, Path]) -> Path:
    args = [a for t in TERMS for a in ("--term", t)]
    drafted(path, nodes, *args)
    for city in CITIES:
        result = run("sign", "--dir", nodes[city], path)
        assert result.exit_code == 0, result.output
    return path


def test_a_four_city_alliance_end_to_end(
    tmp_path: Path, nodes: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "alliance.json"
    result = run("new", path, "--id", "lunan", "--name", "鲁南经济圈", "--term", TERMS[0])
    assert result.exit_code == 0, result.output
    assert "已创建 created" in result.stdout and "unsigned" in result.stdout
    for city, name in CITIES.items():
        result = run("add-member", path, "--dir", nodes[city])
        assert result.exit_code == 0, result.output
        assert f"added member {name} {city}" in result.stdout
    body = ac.load(path).alliance
    assert [m.city for m in body.members] == list(CITIES)
    linyi = body.member(LINYI)
    assert linyi is not None and linyi.url == "http://127.0.0.1:8701"
    assert linyi.log_key == log_vkey(nodes[LINYI])
    assert linyi.witness_key.startswith("lunan/371300/witness+")

    for i, city in enumerate(CITIES):
        result = run("sign", "--dir", nodes[city], path)
        assert result.exit_code == 0, result.output
        assert f"已签名 signed {path} as {CITIES[city]} {city}" in result.stdout
        if i < 3:
            assert "not yet valid" in result.stdout
    assert "the file now verifies" in result.stdout

    result = run("verify", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "OK 鲁南经济圈 lunan v1: 4 members, all signed, quorum 2\n"

    monkeypatch.setattr(alliance_cli, "_today", lambda: date(2021, 6, 1))
    shown = run("show", path)
    assert shown.exit_code == 0, shown.output
    for city, name in CITIES.items():
        assert f"{name} {city}" in shown.stdout
    assert "临沂 371300 ★" in shown.stdout
    assert "★ 现任 current" in shown.stdout
    assert shown.stdout.count("✓ 已签 signed") == 4
    assert "witness quorum: 2 (default" in shown.stdout
    assert "状态 status: OK" in shown.stdout
    assert ac.key_id_hex(log_vkey(nodes[LINYI])) in shown.stdout

    as_json = run("show", path, "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == ac.load(path).alliance.to_json()


def test_show_a_day_without_chair_and_a_partly_signed_file(
    tmp_path: Path, nodes: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = drafted(tmp_path / "alliance.json", nodes, "--term", TERMS[0])
    assert run("sign", "--dir", nodes[HEZE], path).exit_code == 0
    monkeypatch.setattr(alliance_cli, "_today", lambda: date(2030, 1, 1))
    shown = run("show", path)
    assert shown.exit_code == 0
    assert "★" not in shown.stdout
    assert "no chair term covers it" in shown.stdout
    assert shown.stdout.count("— 未签 missing") == 3 and "✓ 已签 signed" in shown.stdout
    assert "not valid: not signed by every founding member" in shown.stdout


def test_partly_signed_and_unsigned_files_are_refused_naming_the_missing_cities(
    tmp_path: Path, nodes: dict[str, Path]
) -> None:
    path = drafted(tmp_path / "alliance.json", nodes)
    unsigned = run("verify", path)
    assert unsigned.exit_code == 1
    assert "unsigned: no member has signed version 1" in one_error_line(unsigned)
    for city in (LINYI, JINING):
        assert run("sign", "--dir", nodes[city], path).exit_code == 0
    partial = run("verify", path)
    assert partial.exit_code == 1
    line = one_error_line(partial)
    assert "missing 枣庄 370400, 菏泽 371700" in line and "临沂" not in line


def test_a_tampered_url_fails_as_tampered(tmp_path: Path, nodes: dict[str, Path]) -> None:
    path = founded(tmp_path / "alliance.json", nodes)
    text = path.read_text("utf-8")
    path.write_text(text.replace("http://127.0.0.1:8703", "http://10.9.9.9:8703"), "utf-8")
    result = run("verify", path)
    assert result.exit_code == 1
    assert "tampered: the signature of 临沂 371300 does not verify" in one_error_line(result)


def test_a_signature_by_a_non_member(tmp_path: Path, nodes: dict[str, Path]) -> None:
    path = founded(tmp_path / "alliance.json", nodes)
    refused = run("sign", "--dir", nodes["370100"], path)
    assert refused.exit_code == 1
    assert "370100 is not a member of alliance lunan" in one_error_line(refused)
    # Forged into the file by hand, it is refused as well.
    signed = ac.load(path)
    forged = ac.Signature("370100", signed.signatures[0].signature)
    ac.save(path, ac.SignedAlliance(signed.alliance, (*signed.signatures, forged)))
    result = run("verify", path)
    assert result.exit_code == 1
    assert "signature by 370100, which is not a member" in one_error_line(result)


def test_a_node_of_another_alliance_cannot_join_or_sign(
    tmp_path: Path, nodes: dict[str, Path]
) -> None:
    path = drafted(tmp_path / "alliance.json", nodes)
    for args in (
        ("add-member", path, "--dir", nodes["other"]),
        ("sign", "--dir", nodes["other"], path),
    ):
        result = run(*args)
        assert result.exit_code == 1
        assert "belongs to alliance 'other', not 'lunan'" in one_error_line(result)


def test_add_member_drops_signatures_and_says_so(tmp_path: Path, nodes: dict[str, Path]) -> None:
    path = tmp_path / "alliance.json"
    assert run("new", path, "--id", "lunan", "--name", "鲁南经济圈").exit_code == 0
    for city in (LINYI, ZAOZHUANG):
        assert run("add-member", path, "--dir", nodes[city]).exit_code == 0
    assert run("sign", "--dir", nodes[LINYI], path).exit_code == 0
    result = run("add-member", path, "--dir", nodes[JINING])
    assert result.exit_code == 0
    assert "dropped 1 signature(s) (371300)" in result.stdout
    assert ac.load(path).signatures == ()


def test_add_member_with_explicit_fields(tmp_path: Path, nodes: dict[str, Path]) -> None:
    path = tmp_path / "alliance.json"
    assert run("new", path, "--id", "lunan", "--name", "鲁南经济圈").exit_code == 0
    config = node.load_config(nodes[HEZE])
    witness = node.witness_signer(config, node.load_witness_key(nodes[HEZE])).vkey()
    fields = [
        "--city", HEZE, "--name", "菏泽", "--url", "https://lunan-heze.example",
        "--log-key", log_vkey(nodes[HEZE]), "--witness-key", witness,
    ]  # fmt: skip
    result = run("add-member", path, *fields)
    assert result.exit_code == 0, result.output
    heze = ac.load(path).alliance.member(HEZE)
    assert heze is not None and heze.url == "https://lunan-heze.example"
    # With --dir, an option given alongside overrides the node's value.
    result = run("add-member", path, "--dir", nodes[LINYI], "--url", "https://lunan-linyi.example")
    assert result.exit_code == 0, result.output
    linyi = ac.load(path).alliance.member(LINYI)
    assert linyi is not None and linyi.url == "https://lunan-linyi.example"

    missing = run("add-member", path, "--city", JINING, "--name", "济宁")
    assert missing.exit_code == 2
    assert "missing --url, --log-key, --witness-key" in one_error_line(missing)


def test_add_member_without_a_witness_key(tmp_path: Path) -> None:
    directory = node_dir(tmp_path, LINYI, "临沂", 8701)
    (directory / node.WITNESS_KEY_FILE).unlink()
    path = tmp_path / "alliance.json"
    assert run("new", path, "--id", "lunan", "--name", "鲁南经济圈").exit_code == 0
    result = run("add-member", path, "--dir", directory)
    assert result.exit_code == 1
    assert "has no witness key" in one_error_line(result)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--city", "37130"], "member city code '37130' is not 6 digits"),
        (["--city", LINYI], "临沂 371300 is already a member"),
        (["--url", "http://127.0.0.1:8701/lunan"], "must be http(s)://host[:port]"),
        (["--log-key", "nonsense"], "log_key is not a valid vkey"),
    ],
)
def test_bad_member_fields_are_refused(
    tmp_path: Path, nodes: dict[str, Path], args: list[str], error: str
) -> None:
    path = tmp_path / "alliance.json"
    assert run("new", path, "--id", "lunan", "--name", "鲁南经济圈").exit_code == 0
    assert run("add-member", path, "--dir", nodes[LINYI]).exit_code == 0
    before = path.read_bytes()
    result = run("add-member", path, "--dir", nodes[JINING], *args)
    assert result.exit_code == 2
    assert error in one_error_line(result)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--quorum", "0"], "quorum 0 must be an integer ≥ 1"),
        (["--term", "37130:2021-05-13:2022-05-12"], "'37130' is not 6 digits"),
        (["--term", "371300:2021-05-13"], "must be CITY:START:END"),
        (["--term", "371300:2021-05-13:2021-02-30"], "'2021-02-30' is not a date YYYY-MM-DD"),
        (
            ["--term", TERMS[1], "--term", "371300:2023-01-01:2023-12-31"],
            "chair term 371300 2023-01-01..2023-12-31 overlaps the term 370400",
        ),
        (["--id", "Lunan"], "alliance id 'Lunan' must be lower-case"),
    ],
)
def test_new_refuses_bad_input(tmp_path: Path, args: list[str], error: str) -> None:
    path = tmp_path / "alliance.json"
    defaults = {"--id": "lunan", "--name": "鲁南经济圈"}
    extra = [a for k, v in defaults.items() if k not in args for a in (k, v)]
    result = run("new", path, *extra, *args)
    assert result.exit_code == 2
    assert error in one_error_line(result)
    assert not path.exists()


def test_new_refuses_to_overwrite_and_needs_id_and_name(tmp_path: Path) -> None:
    path = tmp_path / "alliance.json"
    assert run("new", path, "--id", "lunan", "--name", "鲁南经济圈").exit_code == 0
    before = path.read_bytes()
    again = run("new", path, "--id", "lunan", "--name", "鲁南")
    assert again.exit_code == 2 and "already exists" in one_error_line(again)
    assert path.read_bytes() == before
    nameless = run("new", tmp_path / "b.json", "--id", "lunan")
    assert nameless.exit_code == 2 and "needs --id and --name" in one_error_line(nameless)


def test_quorum_out_of_range_and_terms_for_non_members_are_caught_at_signing(
    tmp_path: Path, nodes: dict[str, Path]
) -> None:
    too_big = drafted(tmp_path / "quorum.json", nodes, "--quorum", "4")
    for result in (run("sign", "--dir", nodes[LINYI], too_big), run("verify", too_big)):
        assert result.exit_code == 1
        assert "quorum 4 is out of range for 4 members" in one_error_line(result)
    jinan_term = drafted(tmp_path / "term.json", nodes, "--term", "370100:2021-05-13:2022-05-12")
    for result in (run("sign", "--dir", nodes[LINYI], jinan_term), run("verify", jinan_term)):
        assert result.exit_code == 1
        assert "names 370100, which is not a member" in one_error_line(result)


def test_version_2_by_a_quorum_of_version_1(tmp_path: Path, nodes: dict[str, Path]) -> None:
    v1 = founded(tmp_path / "alliance-v1.json", nodes)
    v2 = tmp_path / "alliance-v2.json"
    # 示例数据 sample data: an invented fifth term.
    result = run("new", v2, "--previous", v1, "--term", "371300:2025-05-13:2026-05-12")
    assert result.exit_code == 0, result.output
    body = ac.load(v2).alliance
    assert body.version == 2 and body.previous == ac.body_digest(ac.load(v1).alliance)
    assert len(body.chair_terms) == 5

    needs_previous = run("sign", "--dir", nodes[JINING], v2)
    assert needs_previous.exit_code == 1
    assert "give that file too (--previous)" in one_error_line(needs_previous)
    assert run("sign", "--dir", nodes[JINING], "--previous", v1, v2).exit_code == 0
    too_few = run("verify", v2, "--previous", v1)
    assert too_few.exit_code == 1
    assert "signed by 1 of the 4 members of version 1 (济宁 370800); it needs a quorum of 2" in (
        one_error_line(too_few)
    )
    assert run("sign", "--dir", nodes[LINYI], "--previous", v1, v2).exit_code == 0
    ok = run("verify", v2, "--previous", v1)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout == (
        "OK 鲁南经济圈 lunan v2: 4 members, signed by 2 of 4 members of v1 (needs 2), quorum 2\n"
    )
    alone = run("verify", v2)
    assert alone.exit_code == 1 and "--previous" in one_error_line(alone)
    backwards = run("verify", v1, "--previous", v2)
    assert backwards.exit_code == 2 and "not older than" in one_error_line(backwards)


def test_version_2_against_another_or_a_changed_version_1(
    tmp_path: Path, nodes: dict[str, Path]
) -> None:
    v1 = founded(tmp_path / "alliance-v1.json", nodes)
    v2 = tmp_path / "alliance-v2.json"
    assert run("new", v2, "--previous", v1).exit_code == 0
    for city in (LINYI, HEZE):
        assert run("sign", "--dir", nodes[city], "--previous", v1, v2).exit_code == 0
    other_v1 = drafted(tmp_path / "other-v1.json", nodes)  # no chair terms
    for city in CITIES:
        assert run("sign", "--dir", nodes[city], other_v1).exit_code == 0
    result = run("verify", v2, "--previous", other_v1)
    assert result.exit_code == 1
    assert "does not follow the given version 1" in one_error_line(result)
    v1.write_text(v1.read_text("utf-8").replace("鲁南经济圈", "鲁南"), "utf-8")
    result = run("verify", v2, "--previous", v1)
    assert result.exit_code == 1
    assert "earlier version 1: tampered" in one_error_line(result)


def test_check_lists_node_against_real_nodes(tmp_path: Path, nodes: dict[str, Path]) -> None:
    alliance = ac.verify(ac.load(founded(tmp_path / "alliance.json", nodes)))
    ac.check_lists_node(alliance, LINYI, log_vkey(nodes[LINYI]))
    with pytest.raises(ac.AllianceError, match="does not list this node 370100"):
        ac.check_lists_node(alliance, "370100", log_vkey(nodes["370100"]))
    with pytest.raises(ac.AllianceError, match="lists a different key for 371300"):
        ac.check_lists_node(alliance, LINYI, log_vkey(nodes["other"]))


def test_unreadable_files_give_one_line(tmp_path: Path) -> None:
    for command in (["verify"], ["show"], ["add-member", "--city", "371300"]):
        result = run(*command, tmp_path / "missing.json")
        assert result.exit_code == 1
        assert "cannot read alliance file" in one_error_line(result)
    (tmp_path / "bad.json").write_text("{not json", "utf-8")
    result = run("verify", tmp_path / "bad.json")
    assert result.exit_code == 1 and "not valid JSON" in one_error_line(result)
