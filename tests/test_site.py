"""The course website (``make site``): what build/site/ contains, checked from its files.

The build itself (site/build.py: staging, then sphinx-build -W) runs once per test run through
:func:`site_build.built_site`, shared with tests/browser/test_site.py; the staging tests at the top need no build.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import site_build

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DOCS_PAGES = sorted((ROOT / "docs").glob("*.md"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Page(HTMLParser):
    """The parts of a page the tests look at: images, links and preformatted text, in the article or anywhere."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.imgs: list[str] = []  # src of <img> inside <main>
        self.alts: list[str | None] = []  # their alt
        self.svg_labels: list[str | None] = []  # aria-label of each <svg role="img"> inside <main>
        self.links: list[dict[str, str | None]] = []
        self.assets: list[str] = []  # src/href of scripts, stylesheets, icons, images
        self.pres: list[str] = []
        self._in_main = 0
        self._pre: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "main":
            self._in_main += 1
        if tag == "img" and a.get("src"):
            self.assets.append(a["src"])
            if self._in_main:
                self.imgs.append(a["src"])
                self.alts.append(a.get("alt"))
        elif tag == "svg" and self._in_main and a.get("role") == "img":
            self.svg_labels.append(a.get("aria-label"))
        elif tag == "script" and a.get("src"):
            self.assets.append(a["src"])
        elif tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "icon", "preload", "shortcut icon"):
            self.assets.append(a["href"])
        elif tag == "a" and a.get("href") is not None:
            self.links.append(a)
        elif tag == "pre":
            self._pre = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main -= 1
        elif tag == "pre" and self._pre is not None:
            self.pres.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data: str) -> None:
        if self._pre is not None:
            self._pre.append(data)


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def site_pages(site: Path) -> list[Path]:
    """Every page of the site (the theme's _static/ has Jinja macro files named *.html: not pages)."""
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "_static")


def is_local(url: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.IGNORECASE)


def local_target(page: Path, url: str) -> Path:
    """The file a relative URL of ``page`` points at (query and fragment dropped)."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    return (page.parent / path).resolve() if path else page


# ---- staging (no build needed) ---------------------------------------------------------------------------------


def _fake_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "site").mkdir(parents=True)
    (repo / "site" / "index.md").write_text("# Home\n")
    (repo / "site" / "README.md").write_text("not a page\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "semantics.md").write_text("# Semantics\n")
    (repo / "docs" / "figure.png").write_bytes(PNG_SIGNATURE)
    (repo / "notebooks" / "solutions").mkdir(parents=True)
    (repo / "notebooks" / "solutions" / "00-ex1.py").write_text("print(1)\n")
    nb = {
        "cells": [{"cell_type": "code", "execution_count": 3, "id": "a", "metadata": {}, "source": "1",
                   "outputs": [{"output_type": "execute_result", "data": {"text/plain": "1"}, "metadata": {},
                                "execution_count": 3}]}],
        "metadata": {"kernelspec": {"name": "python3"}, "widgets": {"state": {}}},
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    (repo / "notebooks" / "00-x.ipynb").write_text(json.dumps(nb))
    pkg = repo / "mmsim"
    (pkg / "sub").mkdir(parents=True)
    for rel in ("__init__.py", "__main__.py", "_private.py", "alpha.py", "sub/__init__.py", "sub/beta.py",
                "sub/_hidden.py"):  # fmt: skip
        (pkg / rel).write_text('"""Doc."""\n')
    (pkg / "_internal").mkdir()
    (pkg / "_internal" / "__init__.py").write_text("")
    return repo


def test_public_modules_are_globbed_and_private_ones_skipped(tmp_path: Path) -> None:
    build = site_build.build_module()
    repo = _fake_repo(tmp_path)
    assert build.public_modules(repo / "mmsim", "mmsim") == ["mmsim", "mmsim.alpha", "mmsim.sub", "mmsim.sub.beta"]


def test_real_public_modules_include_the_core() -> None:
    names = site_build.build_module().public_modules(ROOT / "mmsim", "mmsim")
    assert {"mmsim", "mmsim.addrspace", "mmsim.outcome", "mmsim.cli"} <= set(names)
    assert not [n for n in names if any(part.startswith("_") for part in n.split("."))]


def test_staging_mirrors_pages_docs_and_stripped_notebooks(tmp_path: Path) -> None:
    build = site_build.build_module()
    repo = _fake_repo(tmp_path)
    stage = tmp_path / "stage"
    staged = build.stage(stage, root=repo)
    assert staged["pages"] == ["index.md"]
    assert staged["docs"] == ["docs/semantics.md"]
    assert staged["notebooks"] == ["notebooks/00-x.ipynb"]
    assert (stage / "docs" / "figure.png").is_file()
    assert (stage / "notebooks" / "solutions" / "00-ex1.py").is_file()
    nb = json.loads((stage / "notebooks" / "00-x.ipynb").read_text())
    assert nb["cells"][0]["outputs"] == [] and nb["cells"][0]["execution_count"] is None
    assert "widgets" not in nb["metadata"]
    assert {p.name for p in (stage / "api").iterdir()} == {
        "index.rst", "mmsim.alpha.rst", "mmsim.sub.rst", "mmsim.sub.beta.rst"
    }  # fmt: skip

    # a page added later appears, one removed disappears, and an unchanged file is not rewritten
    mtime = (stage / "docs" / "semantics.md").stat().st_mtime_ns
    (repo / "docs" / "glossary.md").write_text("# Glossary\n")
    (repo / "mmsim" / "alpha.py").unlink()
    staged = build.stage(stage, root=repo)
    assert staged["docs"] == ["docs/glossary.md", "docs/semantics.md"]
    assert not (stage / "api" / "mmsim.alpha.rst").exists()
    assert staged["removed"] == ["api/mmsim.alpha.rst"]
    assert (stage / "docs" / "semantics.md").stat().st_mtime_ns == mtime


def test_docs_tools_are_test_dependencies() -> None:
    """The tests build the site, so the docs extra is part of the test extra (and so of environment.yml)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def names(reqs: list[str]) -> set[str]:
        return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in reqs}

    assert names(extras["docs"]) <= names(extras["test"])
    assert "mmsim[test,lab,docs]" in extras["dev"]


# ---- the built site --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Path:
    return site_build.built_site()


@pytest.mark.slow
def test_index_and_pages(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "search.html").is_file()
    assert (site / "searchindex.js").is_file()
    for nb in NOTEBOOKS:
        assert (site / "notebooks" / f"{nb.stem}.html").is_file(), nb.name
    for page in DOCS_PAGES:
        assert (site / "docs" / f"{page.stem}.html").is_file(), page.name
    pages = sorted(p.stem for p in (site / "notebooks").glob("*.html"))
    assert pages == [nb.stem for nb in NOTEBOOKS], "exactly one page per notebook"
    index = (site / "index.html").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        assert f'href="notebooks/{nb.stem}.html"' in index, f"the home page does not list {nb.name}"


def _executed(site: Path, notebook: Path):
    """The notebook as the site's build executed it (from MyST-NB's jupyter-cache)."""
    nbformat = pytest.importorskip("nbformat")
    from jupyter_cache import get_cache

    build = site_build.build_module()
    staged = build.STAGE / "notebooks" / notebook.name
    cache = get_cache(str(build.ROOT / "build" / "site-cache" / "jupyter"))
    _, nb = cache.merge_match_into_notebook(nbformat.read(staged, as_version=4))
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_page_figures(site: Path, notebook: Path) -> None:
    page_path = site / "notebooks" / f"{notebook.stem}.html"
    text = page_path.read_text(encoding="utf-8")
    page = Page(text)
    for src in page.imgs:
        assert is_local(src), f"{page_path.name}: image from elsewhere: {src}"
        target = local_target(page_path, src)
        assert target.is_file(), f"{page_path.name}: missing image {src}"
        data = target.read_bytes()
        assert len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE), f"{src} is not a non-empty PNG"

    # Every image the notebook displayed when it ran is on the page, and every widget it displayed got a static
    # figure (from the widget's saved state, or an image/png of its own) and the "Interactive in Jupyter" note.
    nb = _executed(site, notebook)
    images = widgets = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                widgets += 1
            elif any(mime.startswith("image/") for mime in data):
                images += 1
    # an explorer's static form is its chart (an SVG, role="img") with its readout, or a PNG
    static = text.count('class="mmsim-static"')
    assert len(page.imgs) + static >= images + widgets, (
        f"{page_path.name}: {len(page.imgs)} <img> and {static} static explorers for {images} image outputs "
        f"and {widgets} widgets"
    )
    assert text.count("mmsim-widget-note") == widgets
    assert text.count("Interactive in Jupyter") == widgets
    assert WIDGET_VIEW not in text, "an empty widget placeholder was left on the page"
    assert "application/vnd.jupyter.widget-state+json" not in text, "saved widget state embedded in the page"


@pytest.mark.slow
def test_course_has_figures(site: Path) -> None:
    counts = {nb.stem: len(read_page(site / "notebooks" / f"{nb.stem}.html").imgs) for nb in NOTEBOOKS}
    assert sum(counts.values()) >= len(NOTEBOOKS) - 1, counts


@pytest.mark.slow
def test_download_links(site: Path) -> None:
    for notebook in NOTEBOOKS:
        page_path = site / "notebooks" / f"{notebook.stem}.html"
        page = read_page(page_path)
        downloads = [a["href"] for a in page.links if a.get("download") is not None]
        assert downloads == [f"{notebook.name}"], f"{page_path.name}: download links {downloads}"
        target = local_target(page_path, downloads[0])
        assert target.is_file()
        got = json.loads(target.read_text(encoding="utf-8"))
        want = json.loads(notebook.read_text(encoding="utf-8"))
        assert [c["source"] for c in got["cells"]] == [c["source"] for c in want["cells"]]
        for cell in got["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, "download is not stripped"
        assert "widgets" not in got.get("metadata", {})
        text = re.sub(r"<[^>]+>", "", page_path.read_text(encoding="utf-8"))
        assert "Run this notebook" in text and "make lab" in text, f"{page_path.name}: no launch instructions"


@pytest.mark.slow
def test_api_reference(site: Path) -> None:
    index = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("AddressSpace", "classify", "Outcome", "MMError", "sweep"):
        assert name in index, name
    assert 'href="mmsim.addrspace.html#mmsim.addrspace.AddressSpace"' in index
    assert 'href="mmsim.outcome.html#mmsim.outcome.classify"' in index
    for module in site_build.build_module().public_modules(ROOT / "mmsim", "mmsim")[1:]:
        assert (site / "api" / f"{module}.html").is_file(), module
    addrspace = (site / "api" / "mmsim.addrspace.html").read_text(encoding="utf-8")
    assert 'id="mmsim.addrspace.AddressSpace"' in addrspace
    assert 'id="mmsim.addrspace.AddressSpace.mremap"' in addrspace
    assert 'id="mmsim.outcome.classify"' in (site / "api" / "mmsim.outcome.html").read_text(encoding="utf-8")


def _cli_help(*args: str) -> str:
    env = dict(os.environ, COLUMNS="80")
    proc = subprocess.run([sys.executable, "-m", "mmsim", *args, "--help"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_cli_reference(site: Path) -> None:
    from mmsim.cli import build_parser

    pres = [html.unescape(p) for p in read_page(site / "cli.html").pres]
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    commands = [[]] + [[name] for name in subparsers.choices]
    assert len(commands) >= 6  # mmsim, list, trace, layout, sweep, live
    for args in commands:
        text = _cli_help(*args)
        command = " ".join(["mmsim", *args, "--help"])
        assert any(text.strip() == pre.strip() for pre in pres), f"`{command}` output is not on the CLI page"


@pytest.mark.slow
def test_assets_are_local(site: Path) -> None:
    """Nothing a page needs to render comes from another host (the site works offline)."""
    for page_path in site_pages(site):
        for url in read_page(page_path).assets:
            assert is_local(url), f"{page_path.relative_to(site)} loads {url}"
            assert local_target(page_path, url).is_file(), f"{page_path.relative_to(site)}: missing {url}"


@pytest.mark.slow
def test_internal_links_resolve(site: Path) -> None:
    broken = []
    for page_path in site_pages(site):
        for a in read_page(page_path).links:
            href = a["href"] or ""
            if not href or href.startswith("#") or not is_local(href):
                continue
            if not local_target(page_path, href).exists():
                broken.append(f"{page_path.relative_to(site)} -> {href}")
    assert not broken, broken


@pytest.mark.slow
def test_search_index_knows_max_map_count(site: Path) -> None:
    index = (site / "searchindex.js").read_text(encoding="utf-8")
    assert "max_map_count" in index


# ---- widget outputs, on a notebook made here -------------------------------------------------------------------


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A valid 1x1 PNG of one colour."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = zlib.compress(b"\x00" + bytes(rgb))
    return PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(
        b"IEND", b""
    )


@pytest.mark.slow
def test_widget_outputs_become_static_figures_with_a_note(tmp_path: Path) -> None:
    """Four widget outputs, built without execution: the figure comes from the output's own image/png, else from
    another output of the cell, else from the saved widget state; a widget without any image gets the note alone."""
    site_build.require_docs_tools()
    import base64
    import hashlib

    pngs = {name: _png(rgb) for name, rgb in
            {"state": (200, 0, 0), "own": (0, 200, 0), "hidden": (0, 0, 200), "beside": (9, 9, 9),
             "hidden2": (99, 9, 9)}.items()}  # fmt: skip
    b64 = {name: base64.b64encode(data).decode() for name, data in pngs.items()}

    def view(model_id: str) -> dict:
        return {WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}, "text/plain": "VBox()"}

    def output_model(png: str) -> dict:
        out = {"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": "<Figure>"}}
        return {"model_name": "OutputModel", "model_module": "@jupyter-widgets/output", "state": {"outputs": [out]}}

    def box(child: str) -> dict:
        return {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls",
                "state": {"children": [f"IPY_MODEL_{child}"], "layout": "IPY_MODEL_lay"}}  # fmt: skip

    state = {
        "aa": box("a1"), "a1": output_model(b64["state"]),
        "bb": box("b1"), "b1": output_model(b64["hidden"]),
        "cc": box("c1"), "c1": output_model(b64["hidden2"]),
        "dd": {"model_name": "IntSliderModel", "model_module": "@jupyter-widgets/controls", "state": {"value": 3}},
        "lay": {"model_name": "LayoutModel", "model_module": "@jupyter-widgets/base", "state": {}},
    }  # fmt: skip

    def code(*outputs: dict) -> dict:
        return {"cell_type": "code", "execution_count": 1, "id": hashlib.md5(repr(outputs).encode()).hexdigest()[:8],
                "metadata": {}, "source": "explorer()", "outputs": list(outputs)}  # fmt: skip

    result = {"output_type": "execute_result", "execution_count": 1, "metadata": {}}
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "md", "metadata": {}, "source": "# Widgets\n"},
            code({**result, "data": view("aa")}),
            code({"output_type": "display_data", "metadata": {}, "data": {**view("bb"), "image/png": b64["own"]}}),
            code({"output_type": "display_data", "metadata": {}, "data": {"image/png": b64["beside"]}},
                 {**result, "data": view("cc")}),  # fmt: skip
            code({**result, "data": view("dd")}),
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "widgets": {"application/vnd.jupyter.widget-state+json":
                        {"state": state, "version_major": 2, "version_minor": 0}},
        },
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    (src / "notebooks" / "w.ipynb").write_text(json.dumps(nb))
    (src / "launch.md").write_text("# Launch\n")
    (src / "index.md").write_text("# Home\n\n```{toctree}\nnotebooks/w\nlaunch\n```\n")
    out = tmp_path / "out"
    cmd = [
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-c", str(ROOT / "site"),
        "-d", str(tmp_path / "doctrees"), "-D", "nb_execution_mode=off", str(src), str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    page_path = out / "notebooks" / "w.html"
    text = page_path.read_text(encoding="utf-8")
    shown = {local_target(page_path, src).read_bytes() for src in Page(text).imgs}
    assert shown == {pngs["state"], pngs["own"], pngs["beside"]}
    assert text.count("mmsim-widget-note") == 4
    assert text.count("The figure is this explorer") == 3
    assert text.count("work only in a live kernel") == 1
    assert WIDGET_VIEW not in text and "widget-state+json" not in text and "VBox()" not in text
    assert "cdn.jsdelivr" not in text and "cdnjs" not in text


# ---- readable figures (issue #22) --------------------------------------------------------------------------


HASHED = re.compile(r"[0-9a-f]{16,}(\.png)?")


@pytest.mark.slow
def test_every_image_and_chart_has_a_real_text_alternative(site: Path) -> None:
    bad, seen = [], 0
    for path in site_pages(site):
        page = read_page(path)
        for src, alt in zip(page.imgs, page.alts, strict=True):
            if "_static/" in src:
                continue  # the theme's own icons (the module index's ± toggles)
            seen += 1
            text = (alt or "").strip()
            if not (10 <= len(text) <= 125) or HASHED.fullmatch(text) or text.lower() in ("image", "figure", "png"):
                bad.append(f"{path.relative_to(site)}: {src} has alt {alt!r}")
        for label in page.svg_labels:
            seen += 1
            if not (10 <= len((label or "").strip()) <= 400):
                bad.append(f"{path.relative_to(site)}: an SVG chart labelled {label!r}")
    assert seen >= len(NOTEBOOKS), seen
    assert not bad, "\n".join(bad[:20])


@pytest.mark.slow
def test_figure_alt_texts_name_what_the_figure_shows(site: Path) -> None:
    page = read_page(site / "notebooks" / "04-the-bug.html")
    alts = [a or "" for a in page.alts] + [a or "" for a in page.svg_labels]
    assert any("PARTIAL_FAIL" in a for a in alts), alts
    assert any("seed-W" in a for a in alts), alts


@pytest.mark.slow
def test_pages_show_no_nbval_markers_and_collapse_the_install_cell(site: Path) -> None:
    for nb in NOTEBOOKS:
        text = (site / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert "NBVAL_CHECK_OUTPUT" not in text, nb.name
        start = re.search(r'<div class="cell [^"]*tag_hide-input', text)
        assert start, f"{nb.name}: no collapsed (hide-input) cell"
        cell = text[start.start():start.start() + 4000]
        body = " ".join(re.sub(r"<[^>]+>", "", cell).split())
        assert "<details" in cell and "pip install" in body, f"{nb.name}: the install cell is not the collapsed one"


def test_notebooks_tag_what_nbval_checks_and_hide_the_install_cell() -> None:
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        install = next(c for c in code if "%pip install" in "".join(c["source"]))
        # collapsed on the site (MyST-NB's hide-input); in JupyterLab it stays open: a collapsed input hides the
        # cell's prompt, which the lab tier reads to see that the cell ran
        assert "hide-input" in install["metadata"].get("tags", []), nb.name
        for c in code:
            if "# NBVAL_CHECK_OUTPUT" in "".join(c["source"]):
                assert "nbval-check-output" in c["metadata"].get("tags", []), (nb.name, c.get("id"))


@pytest.mark.slow
def test_background_menu_puts_the_reference_first_and_the_licence_last(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    order = [m.group(1) for m in re.finditer(r'href="docs/([A-Za-z0-9.-]+)\.html"', index)]
    order = list(dict.fromkeys(order))
    assert order[:2] == ["glossary", "semantics"], order
    assert order[-1] == "LICENSE-course", order


@pytest.mark.slow
def test_wide_reference_tables_get_a_fixed_layout_and_figures_zoom(site: Path) -> None:
    semantics = (site / "docs" / "semantics.html").read_text(encoding="utf-8")
    assert semantics.count("mmsim-fixed") >= 4
    assert "mmsim-zoom.js" in (site / "notebooks" / "04-the-bug.html").read_text(encoding="utf-8")
    assert (site / "_static" / "mmsim-zoom.js").is_file()
