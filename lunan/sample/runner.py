"""Write the sample data into running demo nodes, each domain once.

A marker file per domain in the demo directory records that its sample data is in the logs, so
a later `lunan demo` with the same directory does not write it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from lunan.sample import governance, indicators, sharing, tasks, tourism
from lunan.sample.api import DemoApi

SEEDS: list[tuple[str, Callable[[DemoApi], None]]] = [
    ("governance", governance.seed),
    ("tasks", tasks.seed),
    ("indicators", indicators.seed),
    ("sharing", sharing.seed),
    ("tourism", tourism.seed),
]


def seed_all(
    base: Path, urls: dict[str, str], tokens: dict[str, str], settle: Callable[[], None]
) -> list[str]:
    """Seed every domain not seeded yet in `base`; returns the names seeded now."""
    clients = {
        city: httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {tokens[city]}"}, timeout=30
        )
        for city, url in urls.items()
    }
    done = []
    try:
        api = DemoApi(clients, settle)
        for name, seed in SEEDS:
            marker = base / f".seeded-{name}"
            if marker.exists():
                continue
            seed(api)
            settle()
            marker.write_text("sample data written\n", encoding="utf-8")
            done.append(name)
    finally:
        for client in clients.values():
            client.close()
    return done
