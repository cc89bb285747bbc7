"""Response signatures (RFC 9421 over @status and content-digest), the digests, and the
node-local tables' migration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import make_node, schema_differences
from sqlalchemy import Engine, inspect

from lunan import node
from lunan.exchange import nonces, protocol
from lunan.net.signatures import SignatureError, sign_response, verify_response
from lunan.storage import db
from lunan.web import problems

KEY = Ed25519PrivateKey.generate()
NOW = 1_780_000_000
BODY = '{"request_id":"00","answer":"是"}'.encode()


def keys(key_id: str) -> Any:
    return KEY.public_key() if key_id == "lunan/371300" else None


def signed(status: int = 200, body: bytes = BODY) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    headers.update(sign_response(status, headers, body, "lunan/371300", KEY, created=NOW))
    return headers


def test_a_signed_response_verifies() -> None:
    assert verify_response(200, signed(), BODY, keys, NOW) == "lunan/371300"
    assert 'lunan=("@status" "content-digest");created=' in signed()["Signature-Input"]


@pytest.mark.parametrize(
    ("status", "body", "headers", "reason"),
    [
        (403, BODY, {}, "bad-signature"),  # a refusal passed off as an answer, or back
        (200, BODY.replace("是".encode(), "否".encode()), {}, "bad-digest"),
        (200, BODY, {"Signature": "lunan=:" + "A" * 86 + "==:"}, "bad-signature"),
        (200, BODY, {"Signature-Input": None}, "missing-signature"),
    ],
)
def test_a_changed_response_is_refused(
    status: int, body: bytes, headers: dict[str, str | None], reason: str
) -> None:
    changed = {**signed(), **headers}
    given = {k: v for k, v in changed.items() if v is not None}
    with pytest.raises(SignatureError) as raised:
        verify_response(status, given, body, keys, NOW)
    assert raised.value.reason == reason


def test_a_response_by_another_key_or_too_old_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    forged = sign_response(200, {}, BODY, "lunan/371300", other, created=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_response(200, forged, BODY, keys, NOW)
    with pytest.raises(SignatureError) as raised:
        verify_response(200, signed(), BODY, keys, NOW + 3600)
    assert raised.value.reason == "expired"
    unknown = sign_response(200, {}, BODY, "lunan/999999", KEY, created=NOW)
    with pytest.raises(SignatureError, match="not a known key"):
        verify_response(200, unknown, BODY, keys, NOW)


def test_digests_need_the_nonce() -> None:
    nonce = protocol.new_nonce()
    assert len(nonce) == 32 and protocol.parse_nonce(protocol.nonce_text(nonce)) == nonce
    yes, no = (protocol.digest(nonce, f'{{"answer":"{a}"}}'.encode()) for a in "是否")
    assert yes != no and len(yes) == 64
    assert protocol.digest(protocol.new_nonce(), b"x") != protocol.digest(nonce, b"x")
    assert protocol.parse_nonce("not base64!") is None and protocol.parse_nonce("AAAA") is None
    assert protocol.TYPE_PREFIX == problems.TYPE_PREFIX
    assert protocol.PROBLEM_JSON == problems.PROBLEM_JSON


def test_the_salt_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = nonces.pseudonym(tmp_path, "gate-01")
    assert first == nonces.pseudonym(tmp_path, "gate-01") != nonces.pseudonym(tmp_path, "x")
    assert (tmp_path / nonces.SALT_FILE).stat().st_mode & 0o777 == 0o600
    assert len(first) == 64 and "gate-01" not in first


# --- the migration ------------------------------------------------------------------------------

TABLES = {"data_services", "data_rows", "exchange_secrets"}


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    directory = make_node(tmp_path / "node", database_url)
    engine = node.open_database(directory, node.load_config(directory))
    yield engine
    engine.dispose()


def test_the_migrated_tables_match_the_schema(engine: Engine) -> None:
    assert schema_differences(engine, TABLES) == []


def test_the_migration_can_be_undone_and_redone(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003_auth")
    assert not TABLES & set(inspect(engine).get_table_names())
    db.migrate(engine)
    assert db.is_current(engine) and set(inspect(engine).get_table_names()) >= TABLES
