"""What a person sees opening a node's log in a browser."""

from __future__ import annotations

from pathlib import Path

from factories import filled_log, free_port, serving
from playwright.sync_api import Browser

from lunan.log import checkpoint as cp


def test_a_browser_shows_the_signed_checkpoint_and_a_proof(
    tmp_path: Path, browser: Browser, artifacts: Path
) -> None:
    with filled_log(tmp_path, 300) as log:
        verifier = log.verifier()
    with serving(tmp_path, free_port()) as url:
        page = browser.new_page()
        response = page.goto(f"{url}/log/v1/checkpoint")
        assert response is not None and response.ok
        text = page.inner_text("body")
        assert text.startswith("lunan/371300\n301\n")
        assert cp.open_signed(text.rstrip("\n") + "\n", verifier).size == 301
        page.screenshot(path=artifacts / "log-checkpoint.png")

        page.goto(f"{url}/api/v1/log/proof/inclusion?index=5&size=301")
        assert '"index":5' in page.inner_text("body")
        problem = page.goto(f"{url}/api/v1/log/proof/inclusion?index=999")
        assert problem is not None and problem.status == 400
        assert "urn:lunan:problem:" in page.inner_text("body")
        page.close()
