"""The documentation is checked against the code (in the style of Datasette's test_docs.py).

- every route of the web application and every problem type it can return is in docs/protocol.md
  (the exchange's own problem table with each type's status too), and so is every event type
  and every reason the projection engine can reject an event for;
- the exchange example of docs/protocol.md verifies: signatures, digests, records;
- every `lunan` command has a section in docs/operator-guide.md naming each of its options;
- docs/log-api.md names every public member of `Log` and `TreeStore`, and nothing that is gone;
- the scripts in the docs run and print what the docs say they print;
- every relative link and anchor in docs/ points at a file and heading that exist.
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from factories import make_node
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lunan import domains
from lunan.cli import app as cli_app
from lunan.crypto import note
from lunan.events import envelope
from lunan.exchange import protocol as exchange_protocol
from lunan.exchange.events import Received, Served
from lunan.log import checkpoint, merkle, open_log
from lunan.log.store import TreeStore
from lunan.net import signatures
from lunan.sharing.queries import AGREEMENT_STATUSES
from lunan.web.app import create_app
from lunan.web.problems import TYPE_PREFIX

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LUNAN = ROOT / "lunan"
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
    """Every slug the node can answer a problem document with: each `Problem(...)` or
    `problem_response(...)` call anywhere in lunan/, the `slug` of every `ActionError`
    subclass (lunan.events.errors; the web layer answers a refused write with its slug), and
    every type of the exchange's own table (`exchange_problems`).

    A literal slug is taken as is; a slug held in a local variable is resolved to every string
    in the expressions assigned to it; `exc.slug` passes on a slug found elsewhere. Anything
    else fails the test, so that no new way of naming a problem goes unchecked.
    """
    return set(_problem_call_slugs() | action_error_slugs() | set(exchange_problems()))


def exchange_problems() -> dict[str, int]:
    """The exchange's problem types and their statuses: lunan.exchange.protocol.PROBLEMS. The
    provider writes (and signs) these documents itself, not through lunan.web.problems."""
    return {slug: problem.status for slug, problem in exchange_protocol.PROBLEMS.items()}


def _python_files() -> list[Path]:
    return sorted(LUNAN.rglob("*.py"))


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(read(path), filename=str(path))


def _problem_callers(tree: ast.Module, path: Path) -> tuple[set[str], set[str]]:
    """The names under which this module calls lunan.web.problems' `Problem` and
    `problem_response`, and the names it binds that module itself to. Another module's own
    class called Problem is not ours and does not count."""
    if path == LUNAN / "web" / "problems.py":
        return set(PROBLEM_CALLS), set()
    functions: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "lunan.web.problems":
            functions |= {a.asname or a.name for a in node.names if a.name in PROBLEM_CALLS}
        elif isinstance(node, ast.ImportFrom) and node.module == "lunan.web":
            modules |= {a.asname or a.name for a in node.names if a.name == "problems"}
    return functions, modules


def _is_problem_call(call: ast.Call, functions: set[str], modules: set[str]) -> bool:
    if isinstance(call.func, ast.Name):
        return call.func.id in functions
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr in PROBLEM_CALLS
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in modules
    )


@functools.cache
def _problem_call_slugs() -> frozenset[str]:
    slugs: set[str] = set()
    for path in _python_files():
        tree = _tree(path)
        functions, modules = _problem_callers(tree, path)
        if not functions and not modules:
            continue
        parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or not _is_problem_call(call, functions, modules):
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
    return frozenset(slugs)


@functools.cache
def action_error_slugs() -> frozenset[str]:
    """The `slug` class attribute of `ActionError` and of every class in lunan/ that derives
    from it (by name, through any number of steps); a subclass without one inherits its base's.
    """
    classes: dict[str, list[tuple[list[str], str | None]]] = {}  # name -> [(bases, slug)]
    for path in _python_files():
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [
                b.id if isinstance(b, ast.Name) else b.attr
                for b in node.bases
                if isinstance(b, ast.Name | ast.Attribute)
            ]
            own = None
            for stmt in node.body:
                targets = (
                    stmt.targets
                    if isinstance(stmt, ast.Assign)
                    else [stmt.target]
                    if isinstance(stmt, ast.AnnAssign)
                    else []
                )
                if any(isinstance(t, ast.Name) and t.id == "slug" for t in targets):
                    value = getattr(stmt, "value", None)
                    where = f"{path.relative_to(ROOT)}:{stmt.lineno}"
                    assert isinstance(value, ast.Constant) and isinstance(value.value, str), (
                        f"{where}: the slug of {node.name} is not a literal string"
                    )
                    own = value.value
            classes.setdefault(node.name, []).append((bases, own))
    assert "ActionError" in classes, "lunan.events.errors.ActionError is gone"

    def derives(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == "ActionError":
            return True
        return any(
            b not in seen and derives(b, seen | {name})
            for bases, _ in classes.get(name, [])
            for b in bases
        )

    return frozenset(
        own for name, defs in classes.items() if derives(name) for _, own in defs if own is not None
    )


def test_problem_slugs_are_found() -> None:
    slugs = problem_slugs()
    assert {"bad-tile-path", "invalid-parameters", "method-not-allowed", "http-error"} <= slugs
    assert {"unauthenticated", "csrf", "no-such-event", "rejected", "too-large"} <= slugs
    assert {"invalid-input", "forbidden", "not-found", "conflict", "bad-request"} <= (
        action_error_slugs()
    )
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", s) for s in slugs), slugs


def test_every_problem_type_is_documented_in_the_protocol() -> None:
    protocol = read(PROTOCOL)
    missing = sorted(s for s in problem_slugs() if f"`{TYPE_PREFIX}{s}`" not in protocol)
    assert not missing, f"problem types not in docs/protocol.md: {missing}"


def test_the_protocol_documents_no_problem_type_that_is_gone() -> None:
    documented = set(re.findall(re.escape(TYPE_PREFIX) + r"([a-z-]+)", read(PROTOCOL)))
    assert sorted(documented - problem_slugs()) == []


ERRORS = "11. Errors 错误 (RFC 9457 problem+json)"
EXCHANGE_CHECKS = "18.2 What the provider checks"


def test_every_exchange_problem_is_in_the_error_table_with_its_status() -> None:
    found = exchange_problems()
    assert {"exchange-no-agreement", "exchange-over-quota", "exchange-upstream"} <= set(found)
    text = section(read(PROTOCOL), ERRORS)
    assert text is not None, f"docs/protocol.md has no section {ERRORS!r}"
    rows = {
        slug: int(status)
        for slug, status in re.findall(
            r"^\| `" + re.escape(TYPE_PREFIX) + r"([a-z-]+)` \| (\d{3}) \|", text, re.MULTILINE
        )
    }
    wrong = {
        slug: (status, rows.get(slug)) for slug, status in found.items() if rows.get(slug) != status
    }
    assert not wrong, f"exchange problem types missing from §11 or with another status: {wrong}"
    checks = section(read(PROTOCOL), EXCHANGE_CHECKS)
    assert checks is not None, f"docs/protocol.md has no section {EXCHANGE_CHECKS!r}"
    missing = sorted(slug for slug in found if f"`{slug}`" not in checks)
    assert not missing, f"exchange problem types not in the checks of §18.2: {missing}"


def test_every_denial_of_the_provider_names_an_exchange_problem() -> None:
    """The provider refuses with `Denial(slug, …)`; each slug must be one of PROBLEMS (and so
    documented). `f"exchange-agreement-{status}"` stands for every status but active."""
    path = LUNAN / "exchange" / "server.py"
    slugs: set[str] = set()
    for call in ast.walk(_tree(path)):
        if not (isinstance(call, ast.Call) and _called_name(call) == "Denial"):
            continue
        arg = call.args[0]
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            slugs.add(arg.value)
        elif (
            isinstance(arg, ast.JoinedStr)
            and ast.unparse(arg) == "f'exchange-agreement-{a.status}'"
        ):
            slugs |= {f"exchange-agreement-{s}" for s in AGREEMENT_STATUSES if s != "active"}
        else:
            raise AssertionError(f"{where}: cannot tell the problem type of this denial")
    assert "exchange-row-filter" in slugs
    assert sorted(slugs - set(exchange_problems())) == []


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


# --- event rejection reasons and witness refusals ---------------------------------------------

REJECTIONS = "13.5 Rejection reasons 拒绝原因"
WITNESS_REFUSALS = "11.1 Refusals of the witness"


@functools.cache
def rejection_reasons() -> frozenset[str]:
    """Every reason an event can be recorded as rejected for: the first argument of each
    `Rejected(...)` and `ctx.reject(...)` call in lunan/. A reason passed on from elsewhere (a
    parameter of the enclosing function, an outcome's `.reason`) is skipped; anything else
    fails the test, so that no new way of naming a reason goes unchecked."""
    reasons: set[str] = set()
    for path in _python_files():
        tree = _tree(path)
        parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or _called_name(call) not in {"reject", "Rejected"}:
                continue
            arg = call.args[0] if call.args else None
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                reasons.add(arg.value)
                continue
            if isinstance(arg, ast.BoolOp):
                arg = arg.values[0]  # `outcome.reason or "rejected"`: the outcome's reason
            if isinstance(arg, ast.Attribute) and arg.attr == "reason":
                continue
            scope: ast.AST = call
            while not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
                scope = parents[scope]
            params = (
                {a.arg for a in scope.args.args + scope.args.kwonlyargs}
                if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef)
                else set()
            )
            if isinstance(arg, ast.Name) and arg.id in params:
                continue
            raise AssertionError(f"{where}: cannot tell the reason of this rejection")
    return frozenset(reasons)


def table_slugs(text: str) -> set[str]:
    """The slugs in the first column of the tables of a piece of markdown."""
    return set(re.findall(r"^\| `([a-z]+(?:-[a-z]+)*)` \|", text, re.MULTILINE))


def test_rejection_reasons_are_found() -> None:
    reasons = rejection_reasons()
    assert {"malformed", "not-owner", "not-chair", "unknown-object", "invalid-body"} <= reasons
    assert {"duplicate-number", "text-hash-mismatch", "bad-transition", "invalid-object"} <= reasons
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", r) for r in reasons), reasons


def test_every_rejection_reason_is_in_the_protocol_and_none_that_is_gone() -> None:
    text = section(read(PROTOCOL), REJECTIONS)
    assert text is not None, f"docs/protocol.md has no section {REJECTIONS!r}"
    listed = table_slugs(text)
    assert sorted(rejection_reasons() - listed) == [], "rejection reasons not in the table"
    assert sorted(listed - rejection_reasons()) == [], "the table lists reasons that are gone"


EVENT_TYPES = "13.3 Event types"


def test_every_event_type_is_in_the_protocol_with_its_name_and_none_that_is_gone() -> None:
    types = {t.name: t.label for t in domains.registry()}
    assert {"node.genesis", "sharing.agreement.granted", "exchange.served"} <= set(types)
    text = section(read(PROTOCOL), EVENT_TYPES)
    assert text is not None, f"docs/protocol.md has no section {EVENT_TYPES!r}"
    listed = dict(re.findall(r"^\| `([a-z_.]+)` \|.*\| ([^|]+?) \|$", text, re.MULTILINE))
    assert sorted(set(types) - set(listed)) == [], "event types not in the table of §13.3"
    assert sorted(set(listed) - set(types)) == [], "§13.3 lists event types that are gone"
    wrong = {n: (label, listed[n]) for n, label in types.items() if listed[n] != label}
    assert not wrong, f"the 名称 column differs from the event types' labels: {wrong}"


def witness_refusals() -> set[str]:
    """The slug of every `WitnessError(status, "slug", …)` the witness answers with a problem
    document."""
    path = LUNAN / "log" / "witness.py"
    slugs = set()
    for call in ast.walk(_tree(path)):
        if isinstance(call, ast.Call) and _called_name(call) == "WitnessError":
            if any(k.arg == "last_size" for k in call.keywords):
                continue  # answered with the bare size (text/x.tlog.size), not a problem
            arg = call.args[1]
            assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                f"{path.relative_to(ROOT)}:{call.lineno}: the slug is not a literal string"
            )
            slugs.add(arg.value)
    return slugs


def test_every_witness_refusal_is_in_the_protocol_and_none_that_is_gone() -> None:
    found = witness_refusals()
    assert {"bad-request", "unknown-origin", "log-forked", "root-mismatch"} <= found
    text = section(read(PROTOCOL), WITNESS_REFUSALS)
    assert text is not None, f"docs/protocol.md has no section {WITNESS_REFUSALS!r}"
    assert sorted(found ^ table_slugs(text)) == []


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


def test_the_event_script_of_the_user_guide_proves_an_applied_event(
    served_node: tuple[Path, str, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, vkey, _ = served_node
    code, _ = example(USER_GUIDE, "check-event")
    monkeypatch.setattr(sys, "argv", ["check_event.py", BASE, vkey, "371300", "0"])
    run_example(code, "docs/user-guide.md")
    assert capsys.readouterr().out == (
        "OK: lunan/371300 第 0 条在规模为 8 的签名检查点中\n"
        '  node.genesis node/371300 {"system": "lunan init"}\n'
        "  已生效 applied\n"
    )


def test_the_event_script_shows_a_rejected_entry(
    served_node: tuple[Path, str, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, vkey, _ = served_node
    code, _ = example(USER_GUIDE, "check-event")
    monkeypatch.setattr(sys, "argv", ["check_event.py", BASE, vkey, "371300", "5"])
    run_example(code, "docs/user-guide.md")  # {"n":5} is in the log, but it is no event
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "OK: lunan/371300 第 5 条在规模为 8 的签名检查点中"
    assert out[1] == "  这一条不是事件 not an event"
    assert out[2].startswith("  被拒绝 rejected malformed: ")


def test_the_event_script_refuses_a_checkpoint_under_another_key(
    served_node: tuple[Path, str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _ = example(USER_GUIDE, "check-event")
    other = note.Signer("lunan/371300", Ed25519PrivateKey.generate()).vkey()
    monkeypatch.setattr(sys, "argv", ["check_event.py", BASE, other, "371300", "0"])
    with pytest.raises(checkpoint.CheckpointError):
        run_example(code, "docs/user-guide.md")


def http_message(text: str) -> tuple[str, dict[str, str], bytes]:
    """The start line, header fields and body of an HTTP message as the docs show it."""
    head, _, body = text.partition("\n\n")
    start, *fields = head.split("\n")
    return start, dict(f.split(": ", 1) for f in fields), body.rstrip("\n").encode()


def created(headers: dict[str, str]) -> int:
    found = re.search(r";created=(\d+)", headers["Signature-Input"])
    assert found is not None, "the signature has no created parameter"
    return int(found[1])


def test_the_exchange_example_of_the_protocol_verifies() -> None:
    """§18.5 is a real exchange: the signatures verify with the keys it gives, the digests in
    both records are SHA-256(nonce ‖ body) of the bodies shown, and neither record holds the
    ID number or the answer."""
    vkeys = [note.parse_vkey(line) for line in example(PROTOCOL, "exchange-keys")[0].split()]
    keys = {v.name: Ed25519PublicKey.from_public_bytes(v.public_key) for v in vkeys}

    start, headers, request = http_message(example(PROTOCOL, "exchange-request")[0])
    method, path, _ = start.split(" ")
    url = f"http://{headers['Host']}{path}"
    assert signatures.verify_request(method, url, headers, request, keys.get, created(headers)) == (
        "lunan/370800"
    )
    start, headers, response = http_message(example(PROTOCOL, "exchange-response")[0])
    status = int(start.split(" ")[1])
    assert signatures.verify_response(status, headers, response, keys.get, created(headers)) == (
        "lunan/370400"
    )

    asked, answered = json.loads(request), json.loads(response)
    nonce = base64.b64decode(answered["nonce"])
    served = envelope.decode(example(PROTOCOL, "exchange-served")[0].strip().encode())
    received = envelope.decode(example(PROTOCOL, "exchange-received")[0].strip().encode())
    assert served.type == "exchange.served" and received.type == "exchange.received"
    Served.model_validate(served.body)
    Received.model_validate(received.body)
    for event in (served, received):
        assert event.object.endswith("/" + asked["request_id"])
        assert event.body["agreement"] == asked["agreement"] == answered["agreement"]
        assert event.body["request_digest"] == hashlib.sha256(nonce + request).hexdigest()
        assert event.body["response_digest"] == hashlib.sha256(nonce + response).hexdigest()
        text = json.dumps(event.body, ensure_ascii=False)
        assert asked["params"]["身份证号"] not in text and answered["answer"] not in text
    assert served.body["bytes"] == len(response) and received.body["verified"] is True


def test_the_digest_script_of_the_user_guide_checks_the_protocol_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = example(USER_GUIDE, "check-digest")
    _, _, response = http_message(example(PROTOCOL, "exchange-response")[0])
    served = json.loads(example(PROTOCOL, "exchange-served")[0])
    answer = tmp_path / "answer.json"
    answer.write_bytes(response)
    nonce = json.loads(response)["nonce"]
    logged = served["body"]["response_digest"]
    monkeypatch.setattr(sys, "argv", ["check_digest.py", nonce, str(answer), logged])
    run_example(code, "docs/user-guide.md")
    assert capsys.readouterr().out == "OK: 报文（157 字节）就是日志里摘要的那一条\n"
    answer.write_bytes(response + b"\n")  # one byte more: another message
    with pytest.raises(SystemExit):
        run_example(code, "docs/user-guide.md")


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
