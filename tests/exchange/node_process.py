"""A node served as `lunan serve` serves it, but with uvicorn's access log on, so that the scan
test also reads a line for every request. Run by test_no_private_data.py:
`python node_process.py DIR`, its output going to the node's log file."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from lunan import node
from lunan.federation.runtime import Federation, request_signer
from lunan.log import open_log
from lunan.web.app import create_app


def main(directory: Path) -> None:
    config = node.load_config(directory)
    log = open_log(directory)
    federation = Federation.start(directory, config, log, request_signer(directory, config))
    app = create_app(directory, log, federation)
    print(f"{config.name} ({config.city}) serving on {config.url}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=config.port, log_level="info")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
