"""The slide deck in a real browser: headless chromium opens the built HTML from a file:// URL, with every request
that is not a local file recorded; reveal.js must start, count the slides, move on with the arrow key, and nothing
may be fetched from the network."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("slides_build", ROOT / "slides" / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    sys.modules["slides_build"] = build
    spec.loader.exec_module(build)
    return build.build(tmp_path_factory.mktemp("slides"))


def test_the_deck_runs_offline_in_chromium(chromium, deck: Path, artifacts_dir: Path) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    remote: list[str] = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(deck.as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
        total = page.evaluate("Reveal.getTotalSlides()")
        assert total >= 6
        page.screenshot(path=str(artifacts_dir / "slides-first.png"))
        page.keyboard.press("ArrowRight")
        page.wait_for_function("Reveal.getIndices().h === 1", timeout=5_000)
        page.evaluate(f"Reveal.slide({total - 1})")
        assert page.evaluate("Reveal.isLastSlide()")
        page.screenshot(path=str(artifacts_dir / "slides-last.png"))
        assert remote == [], f"the deck fetched from the network: {remote}"
        assert errors == [], errors
    finally:
        context.close()
