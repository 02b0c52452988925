"""Build the course website: ``python site/build.py`` (what ``make site`` runs).

1. Stage the Sphinx sources in ``build/site-src/`` from the repository as it is now:

   * ``site/*.md`` (the home page, the launch page, the CLI page);
   * ``docs/`` (every page and image in it, whatever is there at build time);
   * ``notebooks/`` (every ``*.ipynb``, outputs stripped, plus ``solutions/`` and any other file beside them);
   * ``api/``: one page per public module of :mod:`mmsim`, found by walking the package now (modules and
     subpackages whose name starts with ``_`` are skipped), and an index of them.

   Staging mirrors: a file that is gone from the repository is removed, and a file whose content did not change
   is not rewritten, so Sphinx's incremental build and MyST-NB's execution cache keep working.
2. Run ``sphinx-build -W --keep-going`` (warnings are errors) with the configuration in ``site/conf.py`` into
   ``build/site/``. Notebooks are executed by MyST-NB, cached in ``build/site-cache/jupyter/``.

Nothing here uses the network. ``--if-changed`` skips the build when the inputs' fingerprint (the content of every
file the site is made from) matches the one written by the last successful build into the output folder; the
tests use it so that the site is built once per change however many test tiers read it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = ROOT / "site"  # configuration, extension and hand-written pages
BUILD = ROOT / "build"
STAGE = BUILD / "site-src"  # Sphinx's source dir (generated)
DOCTREES = BUILD / "site-cache" / "doctrees"
OUTPUT = BUILD / "site"
FINGERPRINT_FILE = ".mmsim-site-fingerprint"

# What the site is made from (the fingerprint covers all of it).
INPUT_DIRS = ("site", "docs", "notebooks", "mmsim", "binder")
INPUT_FILES = ("pyproject.toml",)
IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".DS_Store"}
IGNORED_SUFFIXES = {".pyc", ".pyo"}
SITE_PAGES_EXCLUDED = {"README.md"}  # site/README.md documents this folder; it is not a page


def _files(top: Path) -> Iterator[Path]:
    if not top.is_dir():
        return
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top)
        if any(part in IGNORED_PARTS for part in rel.parts) or path.suffix in IGNORED_SUFFIXES:
            continue
        if path.is_file():
            yield path


def fingerprint(root: Path = ROOT) -> str:
    """A hash of every input of the site (paths and contents) plus the Python and package versions."""
    h = hashlib.sha256()
    for name in INPUT_DIRS:
        for path in _files(root / name):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in INPUT_FILES:
        path = root / name
        if path.is_file():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(sys.version.encode())
    try:
        from importlib.metadata import version

        for dist in ("sphinx", "myst-nb", "sphinx-book-theme", "pydata-sphinx-theme"):
            h.update(f"{dist}={version(dist)}".encode())
    except Exception:  # a missing package fails the build itself, with a clear message
        pass
    return h.hexdigest()


# ---- staging ---------------------------------------------------------------------------------------------------


def strip_notebook(data: bytes) -> bytes:
    """The notebook without outputs, execution counts or saved widget state (what a reader downloads)."""
    nb = json.loads(data)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("widgets", None)
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def public_modules(package_dir: Path, package: str) -> list[str]:
    """Dotted names of the package and its public modules and subpackages, depth first, sorted.

    A module is public when no part of its dotted name starts with ``_`` (``__init__`` stands for the package
    itself; ``__main__`` and ``_private`` modules are left out). Found from the files, so a module added, moved or
    removed shows up in (or leaves) the API reference without a change here.
    """
    names = [package]
    for path in sorted(package_dir.iterdir()):
        if path.name.startswith("_"):
            continue
        if path.is_file() and path.suffix == ".py":
            names.append(f"{package}.{path.stem}")
        elif path.is_dir() and (path / "__init__.py").is_file():
            names.extend(public_modules(path, f"{package}.{path.name}"))
    return names


def api_pages(modules: list[str]) -> dict[str, str]:
    """reStructuredText for ``api/index.rst`` and one ``api/<module>.rst`` per module (autodoc, numpy style).

    Each object is documented once, in the module that defines it; the index lists the names importable from
    the package itself (the ``mmsim-public-names`` directive of ``site/_ext/mmsim_site.py``) with links there.
    """
    top, subs = modules[0], modules[1:]
    listing = "\n".join(f"   {m}" for m in subs)
    title = "API reference"
    pages = {
        "index.rst": f"""{title}
{"=" * len(title)}

Generated at build time from the docstrings of :mod:`{top}` and of every public module found in the package
then. The names most code needs can be imported from ``{top}`` itself; each is documented in the module that
defines it.

.. automodule:: {top}
   :no-members:

Names importable from ``{top}``
{"-" * (len(top) + 29)}

.. mmsim-public-names:: {top}

Modules
-------

.. py:currentmodule:: None

.. autosummary::

{listing}

.. toctree::
   :hidden:
   :maxdepth: 1

{listing}
"""
    }
    for m in subs:
        pages[f"{m}.rst"] = f"""{"=" * (len(m) + 4)}
``{m}``
{"=" * (len(m) + 4)}

.. automodule:: {m}
   :members:
   :undoc-members:
   :show-inheritance:
   :member-order: bysource
"""
    return pages


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _copy_if_changed(src: Path, dest: Path) -> None:
    if dest.is_file() and dest.stat().st_size == src.stat().st_size and dest.read_bytes() == src.read_bytes():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def _remove_stale(stage: Path, wanted: Iterable[Path]) -> list[str]:
    keep = {p.resolve() for p in wanted}
    removed = []
    for path in sorted(stage.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file() and path.resolve() not in keep:
            removed.append(str(path.relative_to(stage)))
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return sorted(removed)


def stage(stage_dir: Path = STAGE, root: Path = ROOT) -> dict[str, list[str]]:
    """Mirror the site's sources in repository ``root`` into ``stage_dir``; returns what it staged, by kind."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    staged: dict[str, list[str]] = {"pages": [], "docs": [], "notebooks": [], "api": [], "removed": []}

    for src in sorted((root / "site").glob("*.md")):
        if src.name in SITE_PAGES_EXCLUDED:
            continue
        _copy_if_changed(src, stage_dir / src.name)
        written.append(stage_dir / src.name)
        staged["pages"].append(src.name)

    for src in _files(root / "docs"):
        rel = src.relative_to(root)
        _copy_if_changed(src, stage_dir / rel)
        written.append(stage_dir / rel)
        if src.suffix == ".md":
            staged["docs"].append(str(rel))

    for src in _files(root / "notebooks"):
        rel = src.relative_to(root)
        if src.suffix == ".ipynb":
            _write_if_changed(stage_dir / rel, strip_notebook(src.read_bytes()))
            if len(rel.parts) == 2:
                staged["notebooks"].append(str(rel))
        else:
            _copy_if_changed(src, stage_dir / rel)
        written.append(stage_dir / rel)

    for name, text in api_pages(public_modules(root / "mmsim", "mmsim")).items():
        _write_if_changed(stage_dir / "api" / name, text.encode("utf-8"))
        written.append(stage_dir / "api" / name)
        staged["api"].append(f"api/{name}")

    staged["removed"] = _remove_stale(stage_dir, written)
    return staged


# ---- build -----------------------------------------------------------------------------------------------------


def sphinx_command(stage_dir: Path, out: Path, doctrees: Path) -> list[str]:
    return [
        sys.executable, "-m", "sphinx",
        "-W", "--keep-going",  # every warning is an error, and all of them are reported
        "-b", "html",
        "-c", str(SITE_DIR),
        "-d", str(doctrees),
        "-j", "1",
        str(stage_dir), str(out),
    ]  # fmt: skip


def build(out: Path = OUTPUT, *, if_changed: bool = False, clean: bool = False, quiet: bool = False) -> float:
    """Stage and build the site into ``out``; returns the seconds it took (0.0 when skipped)."""
    out = out.resolve()
    stamp = out / FINGERPRINT_FILE
    digest = fingerprint()
    if if_changed and stamp.is_file() and stamp.read_text().strip() == digest and (out / "index.html").is_file():
        print(f"site: {out} is up to date (fingerprint {digest[:12]})")
        return 0.0
    start = time.monotonic()
    if clean:
        for path in (out, STAGE, DOCTREES.parent):
            shutil.rmtree(path, ignore_errors=True)
    staged = stage(STAGE)
    if staged["removed"] and out.is_dir():
        # Sphinx never deletes the page of a source that is gone: start the output afresh (doctrees and the
        # notebooks' execution cache stay, so this only rewrites the pages)
        gone = ", ".join(staged["removed"][:5]) + (", ..." if len(staged["removed"]) > 5 else "")
        print(f"site: {len(staged['removed'])} staged files are gone ({gone}): rewriting {out}")
        shutil.rmtree(out)
    print(
        f"site: staged {len(staged['notebooks'])} notebooks, {len(staged['docs'])} docs pages, "
        f"{len(staged['api'])} API pages and {len(staged['pages'])} site pages in {STAGE}"
    )
    stamp.unlink(missing_ok=True)
    cmd = sphinx_command(STAGE, out, DOCTREES)
    print("site: " + " ".join(cmd), flush=True)
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiets the debugger's "frozen modules" warning in kernels
    result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL if quiet else None)
    if result.returncode != 0:
        # Sphinx reports a warning only when it reads the page; a rebuild would skip the unchanged page and
        # pass. Forget what was read (the notebooks' execution cache stays) so the next build reports it again.
        shutil.rmtree(DOCTREES, ignore_errors=True)
        raise SystemExit(f"site: sphinx-build failed with exit status {result.returncode}")
    stamp.write_text(digest + "\n")
    elapsed = time.monotonic() - start
    pages = sum(1 for p in out.rglob("*.html") if p.relative_to(out).parts[0] != "_static")  # the theme's macros
    print(f"site: built {out} ({pages} pages) in {elapsed:.1f}s")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT, help="output folder (default: build/site)")
    parser.add_argument("--clean", action="store_true", help="remove the output, staging and caches first")
    parser.add_argument("--if-changed", action="store_true", help="skip when the inputs have not changed")
    args = parser.parse_args(argv)
    build(args.out, if_changed=args.if_changed, clean=args.clean)
    return 0


if __name__ == "__main__":
    sys.exit(main())
