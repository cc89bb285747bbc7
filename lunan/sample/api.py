"""How sample data reaches the demo nodes: each city's JSON API, with a coordinator's token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


class SeedError(RuntimeError):
    """A sample write the node refused: the message carries its problem document."""


@dataclass
class DemoApi:
    clients: dict[str, httpx.Client]  # city code -> client with base_url and Bearer token
    settle: Callable[[], None]  # returns once every node has folded in every log

    def post(self, city: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._check(self.clients[city].post(path, json=body or {}))

    def put(self, city: str, path: str, body: dict[str, Any]) -> Any:
        return self._check(self.clients[city].put(path, json=body))

    def get(self, city: str, path: str, **params: Any) -> Any:
        return self._check(self.clients[city].get(path, params=params))

    @staticmethod
    def _check(r: httpx.Response) -> Any:
        if r.status_code >= 400:
            raise SeedError(f"{r.request.method} {r.request.url} → {r.status_code}: {r.text}")
        return r.json() if r.content else None
