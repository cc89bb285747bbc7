"""A real Chromium (Debian's) driven by Playwright. Never downloads a browser.

With LUNAN_REQUIRE_BROWSER=1 (CI) a missing Chromium fails the run instead of skipping.
`demo` is one `lunan demo` per test module (tests/factories.py starts and stops it), after the
browser, so that a machine without Chromium skips before starting four nodes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import LAPTOP, Demo, lunan_demo
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = Path(os.environ.get("LUNAN_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts"

# Headless, and no background traffic: this machine's network is closed.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("LUNAN_REQUIRE_BROWSER") == "1":
            pytest.fail(
                f"LUNAN_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: apt-get install chromium"
            )
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def demo(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with lunan_demo(tmp_path_factory.mktemp("demo")) as d:
        yield d


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()
