"""The verifiable log (RFC 9162 tree, C2SP checkpoints and tiles).

from lunan.log import open_log
with open_log(node_dir) as log:
    first = log.append([b"entry"])
    note = log.checkpoint()
"""

from __future__ import annotations

from pathlib import Path

from lunan.log.log import AppendError, Log
from lunan.log.store import LogIntegrityError

__all__ = ["AppendError", "Log", "LogIntegrityError", "open_log"]


def open_log(node_dir: str | Path) -> Log:
    """The node's own log, ready to append to (see `Log`)."""
    from lunan import node  # late: lunan.node builds on this package

    directory = Path(node_dir)
    config = node.load_config(directory)
    engine = node.open_database(directory, config)
    return Log(engine, node.OWN_LOG_ID, node.signer(config, node.load_key(directory)))
