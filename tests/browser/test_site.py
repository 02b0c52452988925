"""The course website in a real browser: build/site/ served on 127.0.0.1 and opened in headless chromium.

Every page is opened with every request to another host blocked (the site must render offline): no console
errors, no failed request, every image on a notebook page decoded, every internal link answers 200 (and its
#fragment exists on the target page), and the search page finds max_map_count. The site is built once per test
run (tests/site_build.py, shared with tests/test_site.py). Requirements and their skip/fail rules are the browser
tier's (tests/browser/conftest.py); screenshots go to its artifacts folder.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import site_build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 900}
# Direct connections only: a proxy from the environment must not see (or break) requests to 127.0.0.1.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".ipynb": "application/x-ipynb+json"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
        self.server.requests.append(format % args)  # type: ignore[attr-defined]


@dataclass
class SiteServer:
    root: Path
    url: str
    server: http.server.ThreadingHTTPServer
    thread: threading.Thread

    def page_url(self, rel: str) -> str:
        return f"{self.url}/{rel}"


@pytest.fixture(scope="module")
def site_server(browser_requirements: None) -> Iterator[SiteServer]:
    root = site_build.built_site()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # port 0: a free one
    server.requests = []  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield SiteServer(root, f"http://127.0.0.1:{server.server_address[1]}", server, thread)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # requests that failed or answered >= 400
    blocked: list[str] = field(default_factory=list)  # requests to another host


@pytest.fixture
def browser_page(chromium, site_server: SiteServer, artifacts_dir: Path):
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    visit = PageVisit()
    origin = site_server.url

    def route(route) -> None:
        if route.request.url.startswith(origin + "/") or route.request.url == origin:
            route.continue_()
        else:
            visit.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and visit.console_errors.append(f"{page.url}: {msg.text}"))
    page.on("pageerror", lambda exc: visit.console_errors.append(f"{page.url}: [pageerror] {exc}"))
    # net::ERR_ABORTED is a request the next page.goto() cancelled (seen once for the favicon, which chromium
    # fetches after "load"); a missing file still shows, as a response >= 400.
    page.on("requestfailed", lambda req: req.url.startswith(origin) and req.failure != "net::ERR_ABORTED"
            and visit.failed.append(f"{req.url} failed: {req.failure}"))
    page.on("response", lambda resp: resp.status >= 400 and visit.failed.append(f"{resp.url} -> {resp.status}"))
    try:
        yield page, visit
    finally:
        context.close()


def _all_pages(root: Path) -> list[str]:
    """Every page of the site (the theme's _static/ has Jinja macro files named *.html: not pages)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.html") if p.relative_to(root).parts[0] != "_static")


JS_IMAGES = """() => [...document.querySelectorAll('main img')].map(img => ({
    src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
}))"""
JS_LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
JS_IMAGES_SETTLED = "() => [...document.images].every(img => img.complete)"


def _status_and_ids(url: str, cache: dict[str, tuple[int, set[str]]]) -> tuple[int, set[str]]:
    if url not in cache:
        try:
            with _HTTP.open(url, timeout=10) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            status, body = exc.code, b""
        ids = set(re.findall(rb'\bid="([^"]+)"', body)) if url.endswith(".html") else set()
        cache[url] = (status, {i.decode("utf-8", "replace") for i in ids})
    return cache[url]


def test_every_page_renders_offline_and_its_links_resolve(browser_page, site_server: SiteServer, artifacts_dir):
    page, visit = browser_page
    pages = _all_pages(site_server.root)
    notebook_pages = [p for p in pages if p.startswith("notebooks/")]
    assert "index.html" in pages and notebook_pages
    checked: dict[str, tuple[int, set[str]]] = {}
    broken: list[str] = []
    undecoded: list[str] = []
    figures: dict[str, int] = {}
    for rel in pages:
        page.goto(site_server.page_url(rel), wait_until="load")
        page.wait_for_function(JS_IMAGES_SETTLED, polling=100)
        if rel.startswith("notebooks/"):
            images = page.evaluate(JS_IMAGES)
            figures[rel] = len(images)
            undecoded += [f"{rel}: {img['src']}" for img in images if not (img["complete"] and img["width"] > 0)]
        for href in page.evaluate(JS_LINKS):
            if not href.startswith(site_server.url + "/"):
                continue  # another host: not followed (the site has only a few, in its prose)
            target, _, fragment = href.partition("#")
            target = target.split("?", 1)[0]
            status, ids = _status_and_ids(target, checked)
            if status != 200:
                broken.append(f"{rel} -> {href}: HTTP {status}")
            elif fragment and target.endswith(".html") and urllib.parse.unquote(fragment) not in ids:
                broken.append(f"{rel} -> {href}: no element with id {fragment!r}")
    page.goto(site_server.page_url("notebooks/04-the-bug.html"), wait_until="load")
    note = page.locator(".mmsim-widget-note")
    if note.count():
        note.first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "site-widget-note.png"))
    page.goto(site_server.page_url("index.html"), wait_until="load")
    page.screenshot(path=str(artifacts_dir / "site-index.png"))

    print(f"[site] {len(pages)} pages, {len(checked)} distinct link targets, figures per notebook page: {figures}")
    assert not visit.blocked, f"pages asked other hosts for: {sorted(set(visit.blocked))}"
    assert not visit.console_errors, visit.console_errors
    assert not visit.failed, visit.failed
    assert not undecoded, f"images not decoded: {undecoded}"
    assert not broken, broken
    assert sum(figures.values()) > 0


def test_search_finds_max_map_count(browser_page, site_server: SiteServer, artifacts_dir):
    page, visit = browser_page
    page.goto(site_server.page_url("search.html?q=max_map_count"), wait_until="load")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(state="attached", timeout=PAGE_TIMEOUT_MS)
    with contextlib.suppress(Exception):  # the list fills in as the search runs; wait until it says it is done
        page.wait_for_function(
            "() => /found|did not match/i.test(document.querySelector('#search-results')?.innerText || '')",
            polling=100, timeout=PAGE_TIMEOUT_MS,
        )  # fmt: skip
    hrefs = page.locator("#search-results ul.search li a").evaluate_all("links => links.map(a => a.href)")
    page.screenshot(path=str(artifacts_dir / "site-search.png"))
    assert results.count() >= 1
    assert any("/notebooks/" in href for href in hrefs), hrefs
    assert not visit.blocked and not visit.console_errors and not visit.failed, (visit.blocked, visit.console_errors)


# ---- readable at 1280 and 390 px (issue #22) ------------------------------------------------------------------

JS_LAYOUT = """() => {
  const out = {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, clipped: [],
               badAlt: [], wide: []};
  for (const svg of document.querySelectorAll('main svg[role="img"]')) {
    const r = svg.getBoundingClientRect();
    if (r.width === 0) continue;
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBoundingClientRect();
      if (!t.textContent.trim() || b.width === 0) continue;
      if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5)
        out.clipped.push(t.textContent.slice(0, 50));
    }
  }
  for (const img of document.querySelectorAll('main img')) {
    const alt = (img.getAttribute('alt') || '').trim();
    if (alt.length < 10 || /^[0-9a-f]{16,}(\\.png)?$/.test(alt)) out.badAlt.push(img.getAttribute('src'));
  }
  // what makes a page wider than the window (the first few culprits, for the message)
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    for (const el of document.querySelectorAll('main *')) {
      const b = el.getBoundingClientRect();
      if (b.right > window.innerWidth + 1 && out.wide.length < 5)
        out.wide.push(el.tagName + '.' + el.className + ' ' + Math.round(b.right));
    }
  }
  return out;
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_read_at_desktop_and_phone_width(chromium, site_server: SiteServer, artifacts_dir, width) -> None:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site_server.url)
                  else route.abort())
    page = context.new_page()
    problems: list[str] = []
    try:
        pages = [p for p in _all_pages(site_server.root)
                 if p.startswith(("notebooks/", "docs/")) or p in ("index.html", "launch.html")]
        for rel in pages:
            page.goto(site_server.page_url(rel), wait_until="load")
            page.wait_for_function(JS_IMAGES_SETTLED, polling=100)
            m = page.evaluate(JS_LAYOUT)
            if m["scrollWidth"] > m["innerWidth"] + 1:
                problems.append(f"{rel} @{width}: scrolls sideways ({m['scrollWidth']} > {m['innerWidth']}): "
                                f"{m['wide']}")
            problems += [f"{rel} @{width}: chart text {t!r} outside its SVG" for t in m["clipped"]]
            problems += [f"{rel}: image {src} without a real alt text" for src in m["badAlt"]]
        for rel in ("notebooks/04-the-bug.html", "docs/semantics.html", "notebooks/06-false-positives.html"):
            page.goto(site_server.page_url(rel), wait_until="load")
            page.screenshot(path=str(artifacts_dir / f"site-{rel.replace('/', '-')[:-5]}-{width}.png"))
    finally:
        context.close()
    assert not problems, "\n".join(problems[:30])
