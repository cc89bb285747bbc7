"""A writer killed mid-stream loses nothing it acknowledged, and its log still verifies."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

from factories import entries, make_node

from lunan.log import open_log, verify

WRITER = Path(__file__).with_name("append_writer.py")
_spec = importlib.util.spec_from_file_location("append_writer", WRITER)
assert _spec and _spec.loader
append_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(append_writer)


def test_killing_the_writer_loses_no_acknowledged_append(tmp_path: Path, database_url: str) -> None:
    make_node(tmp_path, database_url)
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acked: list[tuple[int, int]] = []
    for line in proc.stdout:
        index, seq = map(int, line.split())
        acked.append((index, seq))
        if len(acked) >= 400:
            proc.send_signal(signal.SIGKILL)  # no cleanup, mid-stream
            break
    proc.wait()
    acked += [tuple(map(int, line.split())) for line in proc.stdout if line.strip()]  # type: ignore[misc]
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    with open_log(tmp_path) as log:
        assert log.size() > max(index for index, _ in acked)
        for index, seq in acked:
            assert log.store.entries(index, index + 1) == [append_writer.crash_entry(seq)]
        source = verify.DatabaseSource(log.engine.url.render_as_string(hide_password=False), 1)
        verify.verify_log(source, log.verifier())
        # The log carries on where the killed writer stopped.
        first = log.append(entries(0, 10))
        assert first == log.size() - 10
        verify.verify_log(source, log.verifier())
