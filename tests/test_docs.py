"""The documentation is checked against the code (in the style of Datasette's test_docs.py).

- every route of the web application and every problem type it can return is in docs/protocol.md;
- every `lunan` command has a section in docs/operator-guide.md naming each of its options;
- docs/log-api.md names every public member of `Log` and `TreeStore`, and nothing that is gone;
- the scripts in the docs run and print what the docs say they print;
- every relative link and anchor in docs/ points at a file and heading that exist.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import make_node
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lunan.cli import app as cli_app
from lunan.crypto import note
from lunan.log import checkpoint, merkle, open_log
from lunan.log.store import TreeStore
from lunan.web.app import create_app
from lunan.web.problems import TYPE_PREFIX

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
WEB = ROOT / "lunan" / "web"
PROTOCOL = DOCS / "protocol.md"
OPERATOR_GUIDE = DOCS / "operator-guide.md"
LOG_API = DOCS / "log-api.md"
USER_GUIDE = DOCS / "user-guide.md"

FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def without_code_blocks(markdown: str) -> str:
    """Markdown with fenced code blocks blanked out, keeping every offset the same."""
    return FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), markdown)


# --- routes ---------------------------------------------------------------------------------


def route_paths(routes: Iterable[Any], prefix: str = "") -> Iterator[str]:
    """Every path an application serves, descending into included routers and mounts."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's wrapper around an included router
            yield from route_paths(
                route.original_router.routes, prefix + route.include_context.prefix
            )
        elif hasattr(route, "path"):
            yield prefix + route.path
            if getattr(route, "routes", None):  # a Mount
                yield from route_paths(route.routes, prefix + route.path)
        else:
            raise AssertionError(f"cannot tell the path of route {route!r}")


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    return make_node(tmp_path / "node")


@pytest.fixture
def app(node_dir: Path) -> Iterator[FastAPI]:
    application = create_app(node_dir)
    yield application
    application.state.log.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def test_route_paths_are_found(app: FastAPI) -> None:
    paths = set(route_paths(app.routes))
    assert {"/healthz", "/log/v1/checkpoint", "/api/v1/log/proof/inclusion"} <= paths


def test_every_route_is_documented_in_the_protocol(app: FastAPI) -> None:
    protocol = read(PROTOCOL)
    paths = sorted(set(route_paths(app.routes)))
    missing = [p for p in paths if f"`{p}`" not in protocol]
    assert not missing, f"routes not in docs/protocol.md: {missing}"


def test_the_protocol_documents_no_route_that_is_gone(app: FastAPI) -> None:
    paths = set(route_paths(app.routes))
    route_index = read(PROTOCOL).split("## 2. Route index", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| [A-Z]+ \| `([^`]+)` \|", route_index, re.MULTILINE)
    assert listed, "docs/protocol.md has no route index table"
    assert sorted(set(listed) - paths) == [], "the route index lists routes the app lacks"


# --- problem types --------------------------------------------------------------------------

PROBLEM_CALLS = {"Problem", "problem_response"}


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _module_dict(tree: ast.Module, name: str) -> set[str]:
    """The string values of a module-level `name = {…}` (or `name: T = {…}`) dict literal."""
    for stmt in tree.body:
        targets = (
            stmt.targets
            if isinstance(stmt, ast.Assign)
            else [stmt.target]
            if isinstance(stmt, ast.AnnAssign)
            else []
        )
        value = getattr(stmt, "value", None)
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and isinstance(
            value, ast.Dict
        ):
            return {
                v.value
                for v in value.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            }
    return set()


def problem_slugs() -> set[str]:
    """Every slug a `Problem(...)` or `problem_response(...)` call in lunan/web can produce.

    A literal slug is taken as is; a slug held in a local variable is resolved to every string
    in the expressions assigned to it; `exc.slug` passes on a slug found elsewhere. Anything
    else fails the test, so that no new way of naming a problem goes unchecked.
    """
    slugs: set[str] = set()
    for path in sorted(WEB.rglob("*.py")):
        tree = ast.parse(read(path), filename=str(path))
        parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or _called_name(call) not in PROBLEM_CALLS:
                continue
            keyword = {k.arg: k.value for k in call.keywords}
            arg = keyword.get("slug") or (call.args[1] if len(call.args) > 1 else None)
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                slugs.add(arg.value)
            elif isinstance(arg, ast.Attribute) and arg.attr == "slug":
                continue
            elif isinstance(arg, ast.Subscript) and isinstance(arg.value, ast.Name):
                # A lookup in a module-level table of literal slugs: every value counts.
                table = _module_dict(tree, arg.value.id)
                assert table, f"{where}: {arg.value.id!r} is not a module-level dict of slugs"
                slugs |= table
            elif isinstance(arg, ast.Name):
                scope: ast.AST = call
                while not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
                    scope = parents[scope]
                assigned = [
                    a.value
                    for a in ast.walk(scope)
                    if isinstance(a, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == arg.id for t in a.targets)
                ]
                found = set().union(*(_strings(v) for v in assigned))
                assert found, f"{where}: cannot tell which slugs {arg.id!r} can hold"
                slugs |= found
            else:
                raise AssertionError(f"{where}: cannot tell the problem slug of this call")
    return slugs


def test_problem_slugs_are_found() -> None:
    slugs = problem_slugs()
    assert {"bad-tile-path", "invalid-parameters", "method-not-allowed", "http-error"} <= slugs
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", s) for s in slugs), slugs


def test_every_problem_type_is_documented_in_the_protocol() -> None:
    protocol = read(PROTOCOL)
    missing = sorted(s for s in problem_slugs() if f"`{TYPE_PREFIX}{s}`" not in protocol)
    assert not missing, f"problem types not in docs/protocol.md: {missing}"


def test_the_protocol_documents_no_problem_type_that_is_gone() -> None:
    documented = set(re.findall(re.escape(TYPE_PREFIX) + r"([a-z-]+)", read(PROTOCOL)))
    assert sorted(documented - problem_slugs()) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/log/v1/tile/0/0000"),
        ("GET", "/log/v1/tile/entries/000"),
        ("GET", "/api/v1/log/entries/1"),
        ("GET", "/api/v1/log/proof/inclusion?index=1&size=1"),
        ("GET", "/api/v1/log/proof/consistency?old=0&new=1"),
        ("GET", "/api/v1/log/proof/inclusion"),
        ("GET", "/no/such/page"),
        ("POST", "/api/v1/log"),
        ("HEAD", "/log/v1/checkpoint"),
    ],
)
def test_errors_served_are_documented_problem_types(
    client: TestClient, method: str, path: str
) -> None:
    r = client.request(method, path)
    assert r.status_code >= 400
    assert r.headers["content-type"] == "application/problem+json"
    if method != "HEAD":
        slug = r.json()["type"].removeprefix(TYPE_PREFIX)
        assert slug in problem_slugs()
        assert f"`{TYPE_PREFIX}{slug}`" in read(PROTOCOL)


# --- the CLI --------------------------------------------------------------------------------


def cli_commands() -> Iterator[tuple[str, Any]]:
    """("lunan init", command), … for every command and sub-command, groups included."""

    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(cli_app), "lunan")


def headings(markdown: str) -> list[tuple[int, str, int]]:
    """(level, text, offset) of each heading outside code blocks."""
    return [(len(m[1]), m[2], m.start()) for m in HEADING.finditer(without_code_blocks(markdown))]


def section(markdown: str, title: str) -> str | None:
    """The text under the heading whose text (without backticks) is `title`."""
    hs = headings(markdown)
    for i, (level, text, start) in enumerate(hs):
        if text.replace("`", "").strip() == title:
            end = next((s for lv, _, s in hs[i + 1 :] if lv <= level), len(markdown))
            return markdown[start:end]
    return None


def test_cli_commands_are_found() -> None:
    found = dict(cli_commands())
    assert {"lunan init", "lunan key", "lunan key show", "lunan verify"} <= set(found)


def test_every_cli_command_and_option_is_in_the_operator_guide() -> None:
    guide = read(OPERATOR_GUIDE)
    problems = []
    for path, command in cli_commands():
        if path == "lunan":
            continue
        if getattr(command, "commands", None):  # a group: named somewhere is enough
            if f"`{path}`" not in guide:
                problems.append(f"{path}: not mentioned")
            continue
        text = section(guide, path)
        if text is None:
            problems.append(f"{path}: no section headed `{path}`")
            continue
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("-") and f"`{opt}`" not in text:
                    problems.append(f"{path}: option {opt} not in its section")
    assert not problems, "docs/operator-guide.md is out of date:\n" + "\n".join(problems)


# --- the Python API -------------------------------------------------------------------------


def test_every_public_member_of_log_is_in_the_log_api_doc(node_dir: Path) -> None:
    doc = read(LOG_API)
    with open_log(node_dir) as log:
        names = sorted(n for n in dir(log) if not n.startswith("_"))
    assert "append" in names
    missing = [n for n in names if f"log.{n}" not in doc]
    assert not missing, f"members of Log not in docs/log-api.md: {missing}"


def test_every_tree_store_read_method_is_in_the_log_api_doc() -> None:
    doc = read(LOG_API)
    methods = sorted(n for n, v in vars(TreeStore).items() if callable(v) and n[0] != "_")
    assert "inclusion_proof" in methods
    missing = [n for n in methods if f"store.{n}(" not in doc]
    assert not missing, f"TreeStore methods not in docs/log-api.md: {missing}"


def test_the_log_api_doc_names_no_member_that_is_gone(node_dir: Path) -> None:
    doc = read(LOG_API)
    with open_log(node_dir) as log:
        gone = sorted(
            {f"log.{n}" for n in re.findall(r"(?<![\w./])log\.(\w+)", doc) if not hasattr(log, n)}
            | {
                f"store.{n}"
                for n in re.findall(r"(?<![\w.])store\.(\w+)", doc)
                if not hasattr(log.store, n)
            }
        )
    assert not gone, f"docs/log-api.md names members that do not exist: {gone}"


# --- the scripts in the docs ----------------------------------------------------------------


def example(path: Path, name: str) -> tuple[str, str | None]:
    """The code block after `<!-- docs-test: name -->`, and the output block that follows it if
    the text between them ends with a line saying "输出：" (output)."""
    text = read(path)
    marker = f"<!-- docs-test: {name} -->"
    assert text.count(marker) == 1, f"{path.name} has no single {marker}"
    blocks = FENCE.finditer(text, text.index(marker))
    code = next(blocks)
    body = code.group(0).split("\n", 1)[1].rsplit("\n", 1)[0]
    after = next(blocks, None)
    output = None
    if after and text[code.end() : after.start()].strip() == "输出：":
        output = after.group(0).split("\n", 1)[1].rsplit("\n", 1)[0] + "\n"
    return body + "\n", output


def run_example(code: str, filename: str) -> None:
    exec(compile(code, filename, "exec"), {"__name__": "__docs_example__"})


def test_the_log_api_example_runs_and_prints_what_the_doc_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = example(LOG_API, "log-api-example")
    assert output is not None, "the example in docs/log-api.md shows no output"
    make_node(tmp_path / "dn")
    monkeypatch.chdir(tmp_path)
    run_example(code, "docs/log-api.md")
    assert capsys.readouterr().out == output


BASE = "http://127.0.0.1:8700"


@pytest.fixture
def served_node(
    node_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str, TestClient]]:
    """A node with 8 entries; `httpx.get` reaches it in-process whatever the host."""
    with open_log(node_dir) as log:
        (node_dir / "size1.checkpoint").write_text(log.checkpoint(), encoding="utf-8")
        log.append([b'{"n":%d}' % i for i in range(1, 8)])
        vkey = log.signer.vkey()
    with TestClient(create_app(node_dir)) as c:
        monkeypatch.setattr(httpx, "get", c.get)
        yield node_dir, vkey, c


def test_the_inclusion_script_of_the_user_guide_checks_a_proof(
    served_node: tuple[Path, str, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, vkey, _ = served_node
    code, _ = example(USER_GUIDE, "check-inclusion")
    monkeypatch.setattr(sys, "argv", ["check_inclusion.py", BASE, vkey, "5"])
    run_example(code, "docs/user-guide.md")
    assert capsys.readouterr().out == "OK: 条目 5 包含在 lunan/371300 规模为 8 的检查点中\n"


def test_the_inclusion_script_refuses_a_checkpoint_under_another_key(
    served_node: tuple[Path, str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _ = example(USER_GUIDE, "check-inclusion")
    other = note.Signer("lunan/371300", Ed25519PrivateKey.generate()).vkey()
    monkeypatch.setattr(sys, "argv", ["check_inclusion.py", BASE, other, "5"])
    with pytest.raises(checkpoint.CheckpointError):
        run_example(code, "docs/user-guide.md")


def test_the_consistency_script_of_the_user_guide_accepts_a_grown_log(
    served_node: tuple[Path, str, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    node_dir, vkey, c = served_node
    saved = node_dir / "size1.checkpoint"
    code, _ = example(USER_GUIDE, "check-consistency")
    monkeypatch.setattr(sys, "argv", ["check_consistency.py", BASE, vkey, str(saved)])
    run_example(code, "docs/user-guide.md")
    assert capsys.readouterr().out == "OK: lunan/371300 从规模 1 一致地增长到 8\n"
    assert saved.read_text(encoding="utf-8") == c.get("/log/v1/checkpoint").text


def test_the_consistency_script_catches_a_contradicting_checkpoint(
    served_node: tuple[Path, str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    node_dir, vkey, _ = served_node
    # A checkpoint signed with the node's own key for a tree the log never had.
    with open_log(node_dir) as log:
        forged = checkpoint.sign(
            checkpoint.Checkpoint(log.signer.name, 3, b"\x07" * 32), log.signer
        )
    saved = node_dir / "forged.checkpoint"
    saved.write_text(forged, encoding="utf-8")
    code, _ = example(USER_GUIDE, "check-consistency")
    monkeypatch.setattr(sys, "argv", ["check_consistency.py", BASE, vkey, str(saved)])
    with pytest.raises(merkle.ProofError):
        run_example(code, "docs/user-guide.md")
    assert saved.read_text(encoding="utf-8") == forged


# --- links ----------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]+`")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', -1 for repeats."""
    seen: dict[str, int] = {}
    out = set()
    for _, text, _ in headings(markdown):
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(markdown: str) -> list[str]:
    text = INLINE_CODE.sub("", without_code_blocks(markdown))
    return LINK.findall(text) + REFERENCE.findall(text)


def doc_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_links_are_found() -> None:
    assert "operator-guide.md" in links(read(DOCS / "README.md"))
    assert "1-conventions-约定" in anchors(read(PROTOCOL))


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_relative_link_points_to_an_existing_file_and_heading(doc: Path) -> None:
    broken = []
    for target in links(read(doc)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, …
            continue
        path_part, _, fragment = target.partition("#")
        linked = (doc.parent / path_part).resolve() if path_part else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(read(linked)):
            broken.append(f"{target}: no such heading")
    assert not broken, f"broken links in {doc.relative_to(ROOT)}: {broken}"
