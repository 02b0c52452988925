"""Build the slide deck: ``python slides/build.py`` (what ``make slides`` runs), offline.

1. Copy reveal.js (its ``dist/`` and the notes plugin) from the ``sphinx-revealjs`` package, a PyPI package that
   ships reveal.js and is a test dependency of this project, into ``build/slides/reveal.js/`` (or from the
   directory ``MMSIM_REVEAL_JS`` names, if set).
2. Execute ``slides/core-story.ipynb`` and convert it with ``jupyter nbconvert --to slides --no-input``, using the
   template in ``slides/template/mmsim-reveal`` (nbconvert's reveal template minus its CDN scripts) and
   ``--reveal-prefix reveal.js``, so the HTML loads reveal.js from the copy beside it. Figures are embedded as
   PNG.
3. Refuse the result (exit 1) if it still loads a script or stylesheet from anywhere but that folder.

Output: ``build/slides/core-story.slides.html`` (``--out DIR`` to choose the folder). Open it in a browser;
``s`` shows the speaker notes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DECK = HERE / "core-story.ipynb"
TEMPLATES = HERE / "template"


def reveal_source() -> Path:
    """The reveal.js folder to copy (with ``dist/reveal.js``); SystemExit with what to install if none."""
    given = os.environ.get("MMSIM_REVEAL_JS")
    if given:
        path = Path(given)
    else:
        try:
            import sphinx_revealjs
        except ImportError:
            raise SystemExit("slides: reveal.js not found: pip install sphinx-revealjs (a test dependency: "
                             "make venv installs it), or set MMSIM_REVEAL_JS to a reveal.js folder") from None
        path = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    if not (path / "dist" / "reveal.js").is_file():
        raise SystemExit(f"slides: no dist/reveal.js in {path}")
    return path


def external_assets(html: str) -> list[str]:
    """What the page would load from elsewhere: script and stylesheet URLs with a scheme or ``//``, and any
    http(s) URL inside a script (a module ``import``)."""
    refs = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?(?:src|href)=[\"']([^\"']+)", html, re.I)
    bad = [r for r in refs if re.match(r"[a-z][a-z0-9+.-]*:|//", r, re.I) and not r.startswith("data:")]
    for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S | re.I):
        bad += re.findall(r"https?://[^\s\"'`)]+", body)
    return bad


def build(out: Path) -> Path:
    """Build the deck into ``out``; returns the HTML file."""
    out.mkdir(parents=True, exist_ok=True)
    src = reveal_source()
    dest = out / "reveal.js"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src / "dist", dest / "dist")
    shutil.copytree(src / "plugin" / "notes", dest / "plugin" / "notes")
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", "--execute", "--no-input",
           f"--TemplateExporter.extra_template_basedirs={TEMPLATES}", "--template", "mmsim-reveal",
           "--reveal-prefix", "reveal.js", "--SlidesExporter.reveal_theme=white",
           "--ExecutePreprocessor.timeout=600", "--output-dir", str(out), "--output", "core-story", str(DECK)]
    subprocess.run(cmd, check=True, cwd=HERE, env=env)
    html = out / "core-story.slides.html"
    bad = external_assets(html.read_text(encoding="utf-8"))
    if bad:
        raise SystemExit(f"slides: {html} would load from outside: {', '.join(bad)}")
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the slide deck offline (reveal.js from sphinx-revealjs).")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides", help="output folder")
    args = parser.parse_args(argv)
    html = build(args.out)
    print(f"slides: wrote {html} (reveal.js in {html.parent / 'reveal.js'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
