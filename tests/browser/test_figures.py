"""Every explorer the notebooks build, drawn by chromium at 1280 and 390 px (issue #22): no text element's box
outside its SVG, no page that scrolls sideways, every chart and image named for screen readers.

The explorers' static HTML (chart and readout, :mod:`tests.browser.gallery`) is put on a plain page: what the
browser draws of an explorer's SVG is the same in JupyterLab, on the website and here, and a plain page needs
no JupyterLab (the lab tier moves the sliders: test_widgets_in_lab.py). Screenshots go to
``<artifacts>/explorers/<case>-<width>.png`` for review.
"""

from __future__ import annotations

import json

import pytest

from . import gallery

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {name: gallery.page_html(name, make()) for name, make in gallery._cases().items()}


@pytest.mark.parametrize("width", gallery.WIDTHS)
def test_explorers_keep_their_text_inside_and_the_page_in_its_width(chromium, artifacts_dir, pages, width) -> None:
    out = artifacts_dir / "explorers"
    out.mkdir(exist_ok=True)
    problems: list[str] = []
    sizes: dict[str, list] = {}
    for name, doc in pages.items():
        page = chromium.new_page(viewport={"width": width, "height": 900})
        try:
            page.set_content(doc, wait_until="load")
            m = page.evaluate(gallery.JS_MEASURE)
            page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
        finally:
            page.close()
        sizes[name] = [(s["width"], s["height"]) for s in m["svgs"]]
        problems += [f"{name} @{width}: text {c['text']!r} at {c['box']} outside its SVG {c['svgBox']}"
                     for c in m["clipped"]]
        if m["scrollWidth"] > m["innerWidth"]:
            problems.append(f"{name} @{width}: the page scrolls sideways ({m['scrollWidth']} > {m['innerWidth']} px)")
        labels = [s.get("label") or "" for s in m["svgs"]]
        problems += [f"{name}: an SVG without a label" for lab in labels if len(lab) < 10]
        problems += [f"{name}: an image with alt {i['alt']!r}" for i in m["imgs"] if len(i["alt"] or "") < 10]
        assert m["svgs"] or m["imgs"], f"{name}: no chart on the page"
    (out / f"sizes-{width}.json").write_text(json.dumps(sizes, indent=1) + "\n", encoding="utf-8")
    print(f"[figures] @{width}: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    assert not problems, "\n".join(problems)


def test_a_trace_explorer_keeps_its_width_when_the_outcome_flips(chromium, pages) -> None:
    widths = {}
    for name in ("03-trace-relocate-65530", "03-trace-relocate-65531"):
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.set_content(pages[name], wait_until="load")
            widths[name] = page.evaluate(gallery.JS_MEASURE)["svgs"][0]["width"]
        finally:
            page.close()
    assert len(set(widths.values())) == 1, widths
