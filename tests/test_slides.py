"""The slide deck (slides/core-story.ipynb, built by slides/build.py as ``make slides`` does): it builds offline,
every asset it loads is local, and it has the story's slides. The browser check is tests/browser/test_slides.py."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DECK = ROOT / "slides" / "core-story.ipynb"


def _build_module():
    spec = importlib.util.spec_from_file_location("slides_build", ROOT / "slides" / "build.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["slides_build"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = _build_module()
    try:
        build.reveal_source()
    except SystemExit as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the slides cannot build under CI: {e}")
        pytest.skip(str(e))
    return build.build(tmp_path_factory.mktemp("slides"))


def test_the_deck_notebook_is_stripped_and_thin() -> None:
    nb = json.loads(DECK.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
        assert "slideshow" in cell["metadata"], "every cell says which slide it belongs to"
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for fig in ("plot_layout", "plot_trace", "plot_fp_rate", "plot_tradeoff"):
        assert fig in code, f"the deck is built from the course's figures: {fig}"


@pytest.mark.slow
def test_the_deck_builds_offline_with_local_assets(deck: Path) -> None:
    html = deck.read_text(encoding="utf-8")
    build = _build_module()
    assert build.external_assets(html) == []
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert scripts == ["reveal.js/dist/reveal.js", "reveal.js/plugin/notes/notes.js"]
    for src in scripts:
        assert (deck.parent / src).is_file(), src
    sections = re.findall(r"<section\b", html)
    titles = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", html, re.S)
    assert len(sections) >= 6, len(sections)
    text = " ".join(re.sub(r"<[^>]+>", "", t) for t in titles)
    for word in ("bug", "fix", "trade-off"):
        assert word in text.lower(), (word, text)
    assert html.count('src="data:image/png;base64,') >= 4, "the figures are embedded"
    assert "import mmsim" not in html, "the code is hidden (--no-input): the slides show what it printed and drew"


def test_the_external_asset_check_finds_cdn_loads() -> None:
    build = _build_module()
    assert build.external_assets('<script src="https://unpkg.com/x.js"></script>') == ["https://unpkg.com/x.js"]
    assert build.external_assets('<link rel="stylesheet" href="//cdn/x.css">') == ["//cdn/x.css"]
    assert build.external_assets('<script type="module">import m from "https://cdn/m.mjs";</script>')
    local = '<script src="reveal.js/dist/reveal.js"></script><img src="data:image/png;base64,x">'
    assert build.external_assets(local) == []
