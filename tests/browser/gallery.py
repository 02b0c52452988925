"""Every explorer of the course, as the notebooks make it, on a plain page: for screenshots and layout checks.

:data:`CASES` are the explorers the notebooks build (same scenario, kernels and limit), plus the two limits either
side of a flip (03's relocate-interior at 65,530 and 65,531). :func:`page_html` puts one explorer's chart and
readout (what the browser shows, and what a static rendering carries) on a page of its own; :data:`JS_MEASURE`
returns, in the browser, the chart's size and every text element whose box leaves its SVG, and whether the page
scrolls sideways. ``python tests/browser/gallery.py DIR`` writes one screenshot per explorer and width
(``DIR/<case>-<width>.png``) and ``DIR/measurements.json``; it uses only the explorers' public hooks
(``last_svg``, ``last_figure``, ``info``), so the same script measures an older mmsim put on ``PYTHONPATH``.
"""

from __future__ import annotations

import base64
import html
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WIDTHS = (1280, 390)
CHROMIUM = "/usr/bin/chromium"


def _cases() -> dict[str, Callable[[], Any]]:
    from mmsim import widgets as Wd
    from mmsim.exercises import mremap_explorer

    return {
        "00-trace-munmap-punch": lambda: Wd.trace_explorer("munmap-punch", kernels=("6.18",)),
        "02-trace-mmap-new": lambda: Wd.trace_explorer("mmap-new", kernels=("6.18",), max_map_count=65_529),
        "02-layout-mprotect-3way": lambda: Wd.layout_explorer("mprotect-3way", kernel="6.18"),
        "03-trace-relocate-65530": lambda: Wd.trace_explorer("relocate-interior", kernels=("5.0", "6.18", "7.1"),
                                                             max_map_count=65_530),
        "03-trace-relocate-65531": lambda: Wd.trace_explorer("relocate-interior", kernels=("5.0", "6.18", "7.1"),
                                                             max_map_count=65_531),
        "03-layout-seed-S": lambda: Wd.layout_explorer("seed-S", kernel="6.18"),
        "03-mremap-explorer": lambda: mremap_explorer(),
        "04-trace-seed-W": lambda: Wd.trace_explorer("seed-W", kernels=("5.0", "5.1")),
        "04-failure-points-seed-W": lambda: Wd.failure_point_explorer("seed-W", kernels=("5.0", "5.1")),
        "05-trace-seed-S": lambda: Wd.trace_explorer("seed-S", kernels=("5.0", "5.1", "7.1"), max_map_count=65_529),
        "06-outcome-map": lambda: Wd.outcome_map_explorer(kernels=("5.0", "5.1", "6.18", "7.1", "5.1-alt", "ideal")),
        "06-failure-points-k-whole-1": lambda: Wd.failure_point_explorer(
            "k-whole-1", kernels=("5.0", "5.1", "7.1", "5.1-alt", "ideal")),
        "07-failure-points-multi-vma": lambda: Wd.failure_point_explorer("multi-vma", kernels=("6.18", "7.1")),
        "default-trace-5-kernels": lambda: Wd.trace_explorer("seed-W"),
    }


def chart_of(ex: Any) -> str:
    """The chart an explorer shows: its SVG, or its figure as an <img> (a Figure-drawing explorer)."""
    svg = getattr(ex, "last_svg", None)
    if svg:
        return svg
    from mmsim.plots import figure_png

    png = base64.b64encode(figure_png(ex.last_figure)).decode()
    return f'<img class="mmsim-figure" alt="figure" src="data:image/png;base64,{png}">'


def page_html(name: str, ex: Any) -> str:
    static = getattr(ex, "static_html", None)  # newer explorers: what a static rendering carries
    body = static() if callable(static) else f"<div>{ex.info.value}</div><div>{chart_of(ex)}</div>"
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(name)}</title><style>body{{font-family:sans-serif;margin:8px}}</style></head>"
            f"<body><h1 style='font-size:16px'>{html.escape(name)}</h1>{body}</body></html>")


#: Sizes of the charts and every text element of an SVG whose box is not inside it (in CSS px, rounded).
JS_MEASURE = """() => {
  const out = {svgs: [], imgs: [], clipped: [], scrollWidth: document.documentElement.scrollWidth,
               innerWidth: window.innerWidth};
  for (const svg of document.querySelectorAll('svg')) {
    const r = svg.getBoundingClientRect();
    const vb = svg.viewBox.baseVal;
    out.svgs.push({cls: svg.getAttribute('class'), width: Math.round(r.width), height: Math.round(r.height),
                   viewBox: vb ? [vb.width, vb.height] : null,
                   label: svg.getAttribute('aria-label') || (svg.querySelector('title') || {}).textContent || ''});
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBoundingClientRect();
      if (!t.textContent.trim() || (b.width === 0 && b.height === 0)) continue;
      const tol = 0.5;
      if (b.left < r.left - tol || b.right > r.right + tol || b.top < r.top - tol || b.bottom > r.bottom + tol) {
        out.clipped.push({svg: svg.getAttribute('class'), text: t.textContent.slice(0, 60),
                          box: [b.left - r.left, b.top - r.top, b.right - r.left, b.bottom - r.top].map(Math.round),
                          svgBox: [Math.round(r.width), Math.round(r.height)]});
      }
    }
  }
  for (const img of document.querySelectorAll('img')) {
    const r = img.getBoundingClientRect();
    out.imgs.push({alt: img.getAttribute('alt'), width: Math.round(r.width), natural: img.naturalWidth});
  }
  return out;
}"""


def main(outdir: str) -> None:
    from playwright.sync_api import sync_playwright

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-proxy-server"])
        for name, make in _cases().items():
            t0 = time.perf_counter()
            ex = make()
            made = time.perf_counter() - t0
            doc = page_html(name, ex)
            (out / f"{name}.html").write_text(doc, encoding="utf-8")
            results[name] = {"make_s": round(made, 3)}
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.set_content(doc, wait_until="load")
                results[name][str(width)] = page.evaluate(JS_MEASURE)
                page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
                page.close()
            m = results[name]["1280"]
            print(f"{name}: svg {[(s['width'], s['height']) for s in m['svgs']]} clipped texts "
                  f"{len(m['clipped'])} @1280, {len(results[name]['390']['clipped'])} @390; scroll @390 "
                  f"{results[name]['390']['scrollWidth']}/{results[name]['390']['innerWidth']}")
        browser.close()
    (out / "measurements.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test-artifacts/explorers")
