"""`lunan alliance …`: make, sign, verify and show the alliance file.

Mounted in lunan/cli.py with ``app.add_typer(alliance_app, name="alliance")``. Errors print
one line ``错误 error: …`` to standard error; exit status 1 for a failure, 2 for bad options.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lunan import node
from lunan.alliance import config as ac
from lunan.clock import SHANGHAI
from lunan.console import fail, out, say
from lunan.crypto import note

alliance_app = typer.Typer(
    help="The alliance file: members, keys, witness quorum, chair terms, signatures.",
    no_args_is_help=True,
)


FileArgument = Annotated[Path, typer.Argument(help="The alliance file, e.g. alliance.json.")]
NodeDirOption = Annotated[Path, typer.Option("--dir", help="The node directory.")]


def _today() -> date:
    """Today in Asia/Shanghai, where chair terms are reckoned."""
    return datetime.now(SHANGHAI).date()


def _load(path: Path) -> ac.SignedAlliance:
    try:
        return ac.load(path)
    except ac.AllianceError as e:
        fail(str(e))


def _save(path: Path, signed: ac.SignedAlliance, overwrite: bool = True) -> None:
    try:
        ac.save(path, signed, overwrite=overwrite)
    except ac.AllianceError as e:
        fail(str(e))


def _node_signer(directory: Path) -> tuple[node.NodeConfig, note.Signer]:
    try:
        config = node.load_config(directory)
        return config, node.signer(config, node.load_key(directory))
    except ValueError as e:  # NodeError, KeyFileError
        fail(str(e))


def _witness_vkey(directory: Path, config: node.NodeConfig) -> str:
    """The node's cosigning key (DIR/witness.key, type 0x04, named ``<origin>/witness``)."""
    path = directory / node.WITNESS_KEY_FILE
    if not path.exists():
        fail(
            f"{directory} has no witness key {path} (nodes made before witnessing lack it): "
            "create it as an Ed25519 PKCS#8 PEM key, mode 0600, or pass --witness-key VKEY"
        )
    try:
        return node.witness_signer(config, node.load_witness_key(directory)).vkey()
    except ValueError as e:  # KeyFileError
        fail(str(e))


@alliance_app.command()
def new(
    file: FileArgument,
    alliance_id: Annotated[
        str | None, typer.Option("--id", help="Alliance id, e.g. lunan (as in node.toml).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Alliance name, e.g. 鲁南经济圈.")] = None,
    quorum: Annotated[
        int | None,
        typer.Option(
            help="Witness quorum: other members whose cosignature makes a checkpoint "
            "final (default: a majority of the other members)."
        ),
    ] = None,
    term: Annotated[
        list[str] | None,
        typer.Option(
            help="A chair term CITY:START:END, e.g. 371300:2021-05-13:2022-05-12; "
            "repeat in date order."
        ),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(help="Make the next version of this file: same members, its terms kept."),
    ] = None,
) -> None:
    """Write a new, unsigned alliance file (version 1, or the next version with --previous)."""
    if file.exists():
        fail(f"{file} already exists: choose another file name", 2)
    try:
        terms = [ac.parse_term(t) for t in term or []]
    except ac.AllianceError as e:
        fail(f"--term: {e}", 2)
    try:
        if previous is None:
            if alliance_id is None or name is None:
                fail("a new alliance needs --id and --name, e.g. --id lunan --name 鲁南经济圈", 2)
            signed = ac.SignedAlliance(
                ac.Alliance(id=alliance_id, name=name, quorum=quorum, chair_terms=tuple(terms))
            )
        else:
            before = _load(previous)
            if alliance_id is not None and alliance_id != before.alliance.id:
                fail(
                    f"{previous} is alliance {before.alliance.id!r}; a new version keeps its id", 2
                )
            signed = ac.next_version(before, name=name, quorum=quorum, terms=terms)
    except ac.AllianceError as e:
        fail(str(e), 2)
    _save(file, signed, overwrite=False)
    a = signed.alliance
    say(f"已创建 created {file}: {a.name} {a.id} v{a.version}, unsigned")
    if not a.members:
        say(f"下一步 next: lunan alliance add-member --dir NODE_DIR {file}")
    else:
        say(f"下一步 next: lunan alliance sign --dir NODE_DIR --previous {previous} {file}")


@alliance_app.command("add-member")
def add_member(
    file: FileArgument,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Take city, name, URL and keys from this node directory."),
    ] = None,
    city: Annotated[str | None, typer.Option(help="GB/T 2260 city code, e.g. 371300.")] = None,
    name: Annotated[str | None, typer.Option(help="City name, e.g. 临沂.")] = None,
    url: Annotated[str | None, typer.Option(help="Node URL, http(s)://host[:port].")] = None,
    log_key: Annotated[
        str | None, typer.Option(help="Log vkey (type 0x01), from `lunan key show`.")
    ] = None,
    witness_key: Annotated[
        str | None, typer.Option(help="Witness vkey (type 0x04), from `lunan key show --witness`.")
    ] = None,
) -> None:
    """Add a member, from its node directory (--dir) or given in full. Drops all signatures."""
    signed = _load(file)
    values = {
        "city": city,
        "name": name,
        "url": url,
        "log_key": log_key,
        "witness_key": witness_key,
    }
    if directory is not None:
        config, log_signer = _node_signer(directory)
        if config.alliance != signed.alliance.id:
            fail(
                f"the node in {directory} belongs to alliance {config.alliance!r}, "
                f"not {signed.alliance.id!r}"
            )
        given = {
            "city": config.city,
            "name": config.name,
            "url": config.url,
            "log_key": log_signer.vkey(),
        }
        if witness_key is None:
            given["witness_key"] = _witness_vkey(directory, config)
        # Options given next to --dir override what the node directory says.
        values = {k: v if v is not None else given.get(k) for k, v in values.items()}
    missing = [k for k, v in values.items() if v is None]
    if missing:
        options = ", ".join("--" + k.replace("_", "-") for k in missing)
        fail(f"give --dir NODE_DIR, or every member field: missing {options}", 2)
    try:
        member = ac.Member(**{k: str(v) for k, v in values.items()})
        updated = ac.add_member(signed, member)
    except ac.AllianceError as e:
        fail(str(e), 2)
    _save(file, updated)
    a = updated.alliance
    say(f"已添加成员 added member {member.label} to {file}: {len(a.members)} member(s)")
    if signed.signatures:
        cities = ", ".join(s.city for s in signed.signatures)
        say(
            f"已清除签名 dropped {len(signed.signatures)} signature(s) ({cities}): the body "
            "changed, so every member must sign again"
        )


@alliance_app.command()
def sign(
    file: FileArgument,
    directory: NodeDirOption,
    previous: Annotated[
        Path | None,
        typer.Option(help="The previous version; needed to sign version 2 and later."),
    ] = None,
) -> None:
    """Sign the alliance file with this node's log key (node.key)."""
    signed = _load(file)
    before = _load(previous) if previous is not None else None
    config, log_signer = _node_signer(directory)
    if config.alliance != signed.alliance.id:
        fail(
            f"the node in {directory} belongs to alliance {config.alliance!r}, "
            f"not {signed.alliance.id!r}"
        )
    try:
        updated = ac.sign(signed, config.city, log_signer, before)
    except ac.AllianceError as e:
        fail(f"{file}: {e}")
    _save(file, updated)
    say(f"已签名 signed {file} as {config.name} {config.city}")
    status = _status_line(updated, before)
    if status:
        say(status)


def _status_line(signed: ac.SignedAlliance, previous: ac.SignedAlliance | None) -> str:
    """What is still missing, after signing; empty when the file verifies."""
    try:
        ac.verify(signed, previous)
    except ac.AllianceError as e:
        return f"尚未生效 not yet valid: {e}"
    return "全部签齐 the file now verifies: " + _ok_summary(ac.verify_detail(signed, previous))


def _ok_summary(v: ac.Verified) -> str:
    a = v.alliance
    if a.version == 1:
        signed = "all signed"
    else:
        signed = (
            f"signed by {len(v.signed_by)} of {len(v.signers.members)} members of "
            f"v{v.signers.version} (needs {v.required})"
        )
    size = f"{len(a.members)} members"
    return f"{a.name} {a.id} v{a.version}: {size}, {signed}, quorum {a.quorum_size()}"


@alliance_app.command()
def verify(
    file: FileArgument,
    previous: Annotated[
        list[Path] | None,
        typer.Option(
            help="Earlier versions, from version 1 on (repeat); needed for version 2 and later."
        ),
    ] = None,
) -> None:
    """Check that the file is complete and validly signed; print one line."""
    signed = _load(file)
    earlier = [_load(p) for p in previous or []]
    for p, e in zip(previous or [], earlier, strict=True):
        if e.alliance.version >= signed.alliance.version:
            fail(
                f"--previous {p} is version {e.alliance.version}, not older than {file} "
                f"(version {signed.alliance.version})",
                2,
            )
    try:
        result = ac.verify_chain([*earlier, signed])
    except ac.AllianceError as e:
        fail(f"{file}: {e}")
    say("OK " + _ok_summary(result))


def _signature_status(
    signed: ac.SignedAlliance, previous: ac.SignedAlliance | None
) -> dict[str, str]:
    """Per signing city: ✓ 已签, ✗ 无效 (does not verify) or — 未签."""
    signers = previous.alliance if previous is not None else signed.alliance
    msg = ac.message(signed.alliance)
    status = {}
    for m in signers.members:
        s = signed.signature(m.city)
        if s is None:
            status[m.city] = "— 未签 missing"
        elif m.log_verifier().verify(msg, s.signature):
            status[m.city] = "✓ 已签 signed"
        else:
            status[m.city] = "✗ 无效 invalid"
    for s in signed.signatures:
        if s.city not in status:
            status[s.city] = "✗ 非成员 not a member"
    return status


def _key_label(vkey: str, city: str, suffix: str = "") -> str:
    """The key ID alone when the key has its usual name, else "<name>+<key ID>" (as markup)."""
    name = vkey.split("+", 1)[0]
    if name.endswith(f"/{city}{suffix}"):
        return escape(ac.key_id_hex(vkey))
    return escape(ac.short_key(vkey))


@alliance_app.command()
def show(
    file: FileArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the alliance body as JSON.")
    ] = False,
    previous: Annotated[
        Path | None,
        typer.Option(help="The previous version, to check the signatures of version 2 and later."),
    ] = None,
) -> None:
    """Show members, keys, quorum, chair terms and who has signed."""
    signed = _load(file)
    a = signed.alliance
    if as_json:
        typer.echo(json.dumps(a.to_json(), ensure_ascii=False, indent=2))
        return
    before = _load(previous) if previous is not None else None
    today = _today()
    chair = a.chair_on(today)
    status = _signature_status(signed, before if a.version > 1 else None)
    title = escape(f"{a.name} {a.id} · 版本 version {a.version}")
    members = Table(title=title, title_justify="left", highlight=False)
    members.add_column("城市 city", no_wrap=True)
    members.add_column("URL", no_wrap=True)
    members.add_column("密钥 log · witness key ID", overflow="fold")
    members.add_column("签名 signature", overflow="fold")
    for m in a.members:
        mark = " ★" if chair is not None and chair.city == m.city else ""
        members.add_row(
            escape(f"{m.name} {m.city}{mark}"),
            escape(m.url),
            f"{_key_label(m.log_key, m.city)} {_key_label(m.witness_key, m.city, '/witness')}",
            status.pop(m.city, "— 不签此版 not a signer"),
        )
    out.print(members)
    for city, state in status.items():  # signers of the previous version no longer listed
        say(f"签名 signature {city}: {state}")
    default = " (default: a majority of the other members)" if a.quorum is None else ""
    say(f"见证法定人数 witness quorum: {a.quorum_size()}{default}")
    if a.chair_terms:
        terms = Table(title="轮值城市 chair terms", title_justify="left", highlight=False)
        terms.add_column("城市 city", no_wrap=True)
        terms.add_column("开始 start", no_wrap=True)
        terms.add_column("结束 end", no_wrap=True)
        terms.add_column("", no_wrap=True)
        for t in a.chair_terms:
            chair_member = a.member(t.city)
            city = f"{chair_member.name if chair_member else '?'} {t.city}"
            current = "★ 现任 current" if t == chair else ""
            terms.add_row(escape(city), str(t.start), str(t.end), current)
        out.print(terms)
    else:
        say("轮值城市 chair terms: none")
    if chair is None:
        say(f"今天 today ({today}) 无轮值城市 no chair term covers it")
    if a.version > 1 and before is None:
        say(f"状态 status: version {a.version}: check it with --previous (version {a.version - 1})")
        return
    try:
        v = ac.verify_detail(signed, before)
    except ac.AllianceError as e:
        say(f"状态 status: 无效 not valid: {e}")
    else:
        say(f"状态 status: OK {_ok_summary(v)}")
