"""`lunan verify`: an audit from scratch that names the first thing wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import filled_log, set_entry
from sqlalchemy import delete, update
from typer.testing import CliRunner

from lunan.cli import app
from lunan.crypto import note
from lunan.log import Log, verify
from lunan.log import checkpoint as cp
from lunan.storage.schema import log_checkpoints, log_tiles

runner = CliRunner()


def _verify(directory: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", "--dir", str(directory)])
    return result.exit_code, result.output


def test_an_intact_log_verifies_with_a_one_line_summary(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 600, database_url) as log:
        log.append([b"late entry"])
    code, output = _verify(tmp_path)
    assert code == 0, output
    assert output.startswith("OK lunan/371300: size 602,")
    assert output.count("\n") == 1


def test_one_changed_byte_in_an_entry_is_named(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 600, database_url) as log:
        data = bytearray(log.store.entries(300, 301)[0])
        data[10] ^= 1
        set_entry(log.engine, log.store.log_id, 300, bytes(data))
    code, output = _verify(tmp_path)
    assert code != 0
    assert "entry 300" in output


def test_missing_tiles_are_named(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 100, database_url) as log:
        set_entry(log.engine, log.store.log_id, 50, b"rewritten")
        with log.engine.begin() as conn:
            conn.execute(delete(log_tiles))
    code, output = _verify(tmp_path)
    assert code != 0
    assert "tile 0/0 is missing" in output


def test_a_deleted_last_entry_is_named(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 100, database_url) as log:
        set_entry(log.engine, log.store.log_id, 100, None)
    code, output = _verify(tmp_path)
    assert code != 0
    assert "entry 100 is missing" in output


def _replace_checkpoint(log: Log, size: int, signer: note.Signer) -> None:
    """Overwrite the stored checkpoint of `size` with one of a wrong root, signed by `signer`."""
    forged = cp.sign(cp.Checkpoint("lunan/371300", size, b"\x00" * 32), signer)
    with log.engine.begin() as conn:
        conn.execute(
            update(log_checkpoints).where(log_checkpoints.c.size == size).values(note=forged)
        )


def test_a_checkpoint_replaced_with_another_key_is_named(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 10, database_url) as log:
        _replace_checkpoint(log, 11, note.Signer("lunan/371300", Ed25519PrivateKey.generate()))
    code, output = _verify(tmp_path)
    assert code != 0
    assert "checkpoint at size 11" in output


def test_a_validly_signed_checkpoint_with_a_wrong_root_is_named(
    tmp_path: Path, database_url: str
) -> None:
    with filled_log(tmp_path, 10, database_url) as log:
        log.append([b"one more"])
        _replace_checkpoint(log, 11, log.signer)
    code, output = _verify(tmp_path)
    assert code != 0
    assert "checkpoint at size 11: its root does not match" in output


def test_large_logs_verify_in_parallel_chunks_and_name_a_late_bad_entry(
    tmp_path: Path, database_url: str
) -> None:
    size = verify.CHUNK * 2 + 1000
    with filled_log(tmp_path, size - 1, database_url) as log:
        source = verify.DatabaseSource(log.engine.url.render_as_string(hide_password=False), 1)
        report = verify.verify_log(source, log.verifier(), workers=2)
        assert report.size == size
        assert report.tiles_checked
        seen: list[int] = []
        verify.verify_log(source, log.verifier(), lambda done, _: seen.append(done), workers=1)
        assert seen == [verify.CHUNK, 2 * verify.CHUNK, size]
        set_entry(log.engine, log.store.log_id, verify.CHUNK + 7, b"changed")
        with pytest.raises(verify.VerifyError, match=f"entry {verify.CHUNK + 7}"):
            verify.verify_log(source, log.verifier(), workers=2)


def test_entries_beyond_the_latest_checkpoint_are_named(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 10, database_url) as log, log.engine.begin() as conn:
        conn.execute(delete(log_checkpoints).where(log_checkpoints.c.size == 11))
    code, output = _verify(tmp_path)
    assert code != 0
    assert "entries 1..10 are stored beyond the latest signed checkpoint (size 1)" in output


def test_an_auditor_verifies_a_copy_with_the_public_key_alone(
    tmp_path: Path, database_url: str
) -> None:
    with filled_log(tmp_path, 50, database_url) as log:
        vkey = log.signer.vkey()
    (tmp_path / "node.key").unlink()
    result = runner.invoke(app, ["verify", "--dir", str(tmp_path), "--vkey", vkey])
    assert result.exit_code == 0, result.output
    other = note.Signer("lunan/371300", Ed25519PrivateKey.generate()).vkey()
    result = runner.invoke(app, ["verify", "--dir", str(tmp_path), "--vkey", other])
    assert result.exit_code != 0 and "signature" in result.output
