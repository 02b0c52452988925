"""The course website for the tests: built at most once per test run, shared by tests/test_site.py and
tests/browser/test_site.py.

:func:`built_site` runs ``python site/build.py --if-changed`` (what ``make site`` runs, plus a skip when the inputs'
fingerprint matches the last successful build), once per pytest process. So the site is built once however many
tiers read it, and not at all when ``make site`` has just built it from the same inputs. The build's output goes to
``build/site-build.log``; a failing build fails the tests that need it, with the log's tail.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "site" / "build.py"
LOG = ROOT / "build" / "site-build.log"
BUILD_TIMEOUT_S = 1800  # a cold build executes every notebook (about a minute here)
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
REQUIRED = ("sphinx", "myst_nb", "sphinx_book_theme")


@functools.cache
def build_module() -> ModuleType:
    """``site/build.py`` as a module (paths, staging helpers)."""
    spec = importlib.util.spec_from_file_location("mmsim_site_build", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def require_docs_tools() -> None:
    """Skip without Sphinx/MyST-NB (the `docs` extra), except under CI=true, where that fails."""
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed in {sys.prefix}: run `make venv` (the docs extra)"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the site must be built in CI)", pytrace=False)
        pytest.skip(reason)


@functools.cache
def _build() -> tuple[int, str]:
    LOG.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("MMSIM_REPOSITORY_URL", None)  # the tested site has no launch buttons to hosts that cannot be reached
    with open(LOG, "wb") as log:
        try:
            proc = subprocess.run(
                [sys.executable, str(BUILD_SCRIPT), "--if-changed"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
            )  # fmt: skip
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
    tail = "\n".join(LOG.read_text(encoding="utf-8", errors="replace").splitlines()[-60:])
    return code, tail


def built_site() -> Path:
    """``build/site/``, built from the current inputs (once per test run)."""
    require_docs_tools()
    code, tail = _build()
    if code != 0:
        pytest.fail(f"the site build failed (exit {code}); log {LOG}, last lines:\n{tail}", pytrace=False)
    site = build_module().OUTPUT
    assert (site / "index.html").is_file(), f"{site}/index.html is missing after the build"
    return site
