"""Sphinx configuration of the course website (Sphinx + MyST-NB, sphinx-book-theme).

Build it with ``make site`` (``python site/build.py``): that stages the pages, ``docs/``, ``notebooks/`` and the
generated API pages in ``build/site-src/`` and runs ``sphinx-build -W --keep-going -c site`` on it. This file is
not meant to be pointed at the repository root directly.

Offline by design: no intersphinx, no MathJax (``dollarmath`` is off), no ipywidgets JavaScript from a CDN
(``nb_ipywidgets_js = {}``); the theme's CSS, JS and fonts are copied from the installed packages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # the installed (editable) mmsim is used first; this only helps a bare checkout

import mmsim  # noqa: E402

# ---- project ---------------------------------------------------------------------------------------------------

project = "mmsim"
author = "the mmsim authors"
copyright = "the mmsim authors"
release = version = mmsim.__version__
language = "en"

extensions = [
    "myst_nb",  # notebooks (.ipynb) and MyST markdown (.md); includes myst_parser
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx_copybutton",
    "sphinx.ext.duration",
    "mmsim_site",  # site/_ext/mmsim_site.py: CLI page, public names, launch box, widget notes
]

root_doc = "index"
exclude_patterns = ["**/.ipynb_checkpoints", "_build", "Thumbs.db", ".DS_Store"]

# Where the staged pages come from: a page's link to another file of the repository resolves against it
# (site/_ext/mmsim_site.py, link_repository_files).
mmsim_repository_root = str(ROOT)

# ---- MyST / MyST-NB --------------------------------------------------------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist", "substitution"]
myst_heading_anchors = 3  # [text](#a-heading) works in docs/*.md, as it does on GitHub

nb_execution_mode = "cache"  # executed at build time, kept in a jupyter-cache keyed by the notebook's code
nb_execution_cache_path = str(ROOT / "build" / "site-cache" / "jupyter")
nb_execution_timeout = 300  # seconds per cell
nb_execution_show_tb = True  # a failing cell's traceback goes to the build log
nb_execution_excludepatterns: list[str] = []
nb_merge_streams = True
nb_output_stderr = "show"
# ipywidgets need a live kernel: do not load require.js and the widget manager from a CDN (MyST-NB's default);
# the mmsim_site extension puts an "Interactive in Jupyter" note where a widget was displayed instead.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}

# ---- autodoc ---------------------------------------------------------------------------------------------------

autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False  # the per-module pages are written by site/build.py
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# "Attributes" sections as :ivar: fields: dataclass fields are also documented as members (undoc-members), and
# napoleon's default (an attribute directive per entry) would describe them twice.
napoleon_use_ivar = True
add_module_names = False
python_display_short_literal_types = True

# ---- HTML ------------------------------------------------------------------------------------------------------

html_theme = "sphinx_book_theme"
html_title = "mmsim: Linux VMA accounting, the course"
html_static_path = [str(HERE / "_static")]
html_css_files = ["mmsim-site.css"]
html_copy_source = True
html_sourcelink_suffix = ""  # _sources/notebooks/NN-name.ipynb, as the theme's download button offers it
html_show_sourcelink = False
html_last_updated_fmt = None
html_permalinks_icon = "#"

# With the repository's public URL (e.g. MMSIM_REPOSITORY_URL=https://host/owner/mmsim make site), the theme also
# shows a repository link and Binder/Colab launch buttons on each notebook page (binder/ has Binder's setup).
# Without it (the default, and in the tests) there are none: a launch button needs a URL that exists.
REPOSITORY_URL = os.environ.get("MMSIM_REPOSITORY_URL", "").strip()
REPOSITORY_BRANCH = os.environ.get("MMSIM_REPOSITORY_BRANCH", "main").strip() or "main"

html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": True,
    "navigation_with_keys": False,
    "path_to_docs": "",  # staged pages keep the repository's layout (notebooks/NN-name.ipynb, docs/page.md)
    "repository_url": REPOSITORY_URL,
    "repository_branch": REPOSITORY_BRANCH,
    "use_repository_button": bool(REPOSITORY_URL),
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    }
    if REPOSITORY_URL
    else {},
}

# pydata-sphinx-theme reads the colour mode from here; unset, its script logs "Got invalid theme mode" (an error).
html_context = {"default_mode": "auto"}
html_favicon = str(HERE / "_static" / "favicon.svg")  # browsers ask for one; without it, each page logs a 404
