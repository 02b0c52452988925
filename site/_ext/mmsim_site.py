"""Sphinx extension for the mmsim course website (loaded by ``site/conf.py``).

* ``mmsim-cli`` directive: the command-line reference, one section per command with its ``--help`` text, made at
  build time from :func:`mmsim.cli.build_parser` (so a new subcommand or option appears by itself).
* ``mmsim-toctree`` directive: a ``toctree`` that is left out when its glob matches nothing (no warning).
* ``mmsim-public-names`` directive: a table of the names a package exports in ``__all__``, each linked to the
  module that defines it, with the first paragraph of its docstring.
* A "Run this notebook" box at the top of every notebook page: a download link to the notebook (outputs
  stripped, written next to the page as ``NN-name.ipynb``) and how to run it locally with ``make lab``.
* Widget outputs: ipywidgets render only in a live kernel (or with a widget manager loaded from a CDN), so where a
  notebook displayed a widget the page shows a static figure and an "Interactive in Jupyter" note instead of the
  widget's empty placeholder. The figure is the output's own ``image/png`` if it has one (or another output of the
  cell), else the image the widget's Output showed when the notebook ran, from the widget state nbclient saved.
  That state is not embedded in the page.
* Links from a page to a file of the repository outside the site (``../README.md``, ``../mmsim/vma.py``) go to
  that module's API page, or to a copy of the file.
* ``missing-reference``: a docstring's ``:class:`Outcome``` that names a re-exported object (``mmsim.Outcome``,
  or ``Outcome`` imported into another module) links to where that object is documented.
* Readable figures (issue #22): every image gets a text alternative (the ``Description`` that
  :func:`mmsim.plots.figure_png` writes into each PNG: the figure's title and outcomes; else the call that drew it),
  at most :data:`MAX_ALT` characters; nbval's ``# NBVAL_CHECK_OUTPUT`` markers are left out of the code shown
  (they are test plumbing; the cells' ``nbval-check-output`` tags say the same); the tables of the wide reference
  pages (:data:`WIDE_PAGES`) get a fixed layout that wraps long code (class ``mmsim-fixed``).
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.directives.other import TocTree
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join, logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.matching import patfilter
from sphinx.util.nodes import make_id

logger = logging.getLogger(__name__)

HELP_COLUMNS = 80  # argparse wraps help to the terminal width; the page uses this one (COLUMNS=80)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LAUNCH_DOC = "launch"  # site/launch.md: how to run the course
WIDGET_NOTE_CLASS = "mmsim-widget-note"
LAUNCH_BOX_CLASS = "mmsim-launch"
MAX_ALT = 125
WIDE_PAGES = ("docs/semantics",)  # reference pages whose tables get the whole width and a fixed layout
NBVAL_MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)


# ---- CLI reference ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def help_width(columns: int = HELP_COLUMNS) -> Iterator[None]:
    """Format argparse help as in a terminal ``columns`` wide."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of each subcommand, in the order the parser lists them."""
    found = []
    for action in parser._actions:  # argparse has no public accessor for subparsers
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if name in helps:  # aliases have no entry of their own
                    found.append((name, helps[name], sub))
    return found


def cli_help_texts(columns: int = HELP_COLUMNS) -> list[tuple[str, str, str]]:
    """(command, one-line help, ``--help`` text) for ``mmsim`` and each subcommand, as the CLI prints them."""
    from mmsim.cli import build_parser

    with help_width(columns):
        parser = build_parser()
        texts = [(parser.prog, "", parser.format_help())]
        texts += [(f"{parser.prog} {name}", summary, sub.format_help()) for name, summary, sub in subcommands(parser)]
    return texts


class CliDirective(SphinxDirective):
    """``mmsim-cli``: a section per command with its ``--help`` output."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import mmsim.cli

        self.env.note_dependency(inspect.getsourcefile(mmsim.cli))
        result: list[nodes.Node] = []
        for command, summary, text in cli_help_texts():
            section_id = make_id(self.env, self.state.document, "cli", command.replace(" ", "-"))
            section = nodes.section(ids=[section_id], names=[nodes.fully_normalize_name(command)])
            section += nodes.title("", "", nodes.literal(command, command))
            if summary:
                section += nodes.paragraph(summary, summary[:1].upper() + summary[1:] + ".")
            block = nodes.literal_block(text, text, language="text", classes=["mmsim-cli-help"])
            section += block
            self.state.document.note_implicit_target(section, section)
            result.append(section)
        return result


# ---- a toctree whose glob may match nothing -------------------------------------------------------------------


class OptionalGlobTocTree(TocTree):
    """``mmsim-toctree``: Sphinx's ``toctree``, left out (instead of warning) when all its glob entries match no
    document; e.g. the home page's ``docs/**`` before ``docs/`` has a page. A pattern that matches only documents
    named before it (``docs/**`` after every page is listed in the order wanted) is dropped instead of warning,
    so it still catches a page added later."""

    def run(self) -> list[nodes.Node]:
        if "glob" in self.options:
            entries = [line.strip() for line in self.content if line.strip()]
            if not any(patfilter(self.env.found_docs, docname_join(self.env.docname, e)) for e in entries):
                return []
            named: set[str] = set()
            kept = []
            for e in entries:
                matched = set(patfilter(self.env.found_docs, docname_join(self.env.docname, e)))
                if any(c in e for c in "*?[") and not matched - named:
                    continue
                named |= matched
                kept.append(e)
            if kept != entries:
                self.content = StringList(kept, source=self.content.source(0) if self.content else "")
        return super().run()


# ---- public names of a package ---------------------------------------------------------------------------------


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(inspect.cleandoc(doc).split("\n\n", 1)[0].split())


def _imported_from(package: str) -> dict[str, str]:
    """name -> defining module, from the package's ``from .module import name`` statements."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        return {}
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 1:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{package}.{node.module}"
    return found


def _attribute_docs(module: str) -> dict[str, str]:
    """The ``#:`` doc comments (and docstrings after assignments) of a module's attributes."""
    from sphinx.pycode import ModuleAnalyzer

    try:
        docs = ModuleAnalyzer.for_module(module).find_attr_docs()
    except Exception:
        return {}
    return {name: " ".join(" ".join(lines).split()) for (scope, name), lines in docs.items() if scope == ""}


def public_names(package: str) -> list[tuple[str, str, str]]:
    """(name, fully qualified target, summary) for each name in the package's ``__all__``."""
    pkg = importlib.import_module(package)
    sources = _imported_from(package)
    rows = []
    for name in getattr(pkg, "__all__", []):
        if name.startswith("__"):
            continue
        obj = getattr(pkg, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            target = f"{obj.__module__}.{obj.__qualname__}"
            summary = _first_paragraph(obj.__doc__)
        else:
            module = sources.get(name, package)
            target = f"{module}.{name}"
            summary = _attribute_docs(module).get(name, "")
            if not summary:
                value = repr(obj) if isinstance(obj, int | float | str) and len(repr(obj)) < 40 else None
                summary = f"Constant, ``{value}``." if value else f"A ``{type(obj).__name__}``."
        rows.append((name, target, summary))
    return rows


class PublicNamesDirective(SphinxDirective):
    """``mmsim-public-names PACKAGE``: a table of ``PACKAGE.__all__`` linked to where each name is defined."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 75", "   :class: mmsim-public-names", ""]
        lines += ["   * - Name", "     - What it is", ""]
        for name, target, summary in public_names(package):
            lines += [f"   * - :py:obj:`{name} <{target}>`", f"     - {summary or ' '}"]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=f"<{package}.__all__>"), self.content_offset, container)
        return container.children


def resolve_reexport(app: Sphinx, env: Any, node: addnodes.pending_xref, contnode: nodes.Element):
    """Link a Python cross-reference to a re-exported mmsim object to where that object is documented."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    modname = node.get("py:module") or ""
    classname = node.get("py:class") or ""
    candidates = [target]
    if modname:
        candidates += [f"{modname}.{classname}.{target}" if classname else "", f"{modname}.{target}"]
    domain = env.get_domain("py")
    for cand in filter(None, candidates):
        if not cand.startswith("mmsim"):
            continue
        canonical = _canonical(cand)
        if canonical and canonical != cand and canonical in domain.objects:
            return domain.resolve_xref(env, node["refdoc"], app.builder, "obj", canonical, node, contnode)
    return None


def _canonical(dotted: str) -> str | None:
    """``mmsim.Outcome`` -> ``mmsim.outcome.Outcome`` (the defining module), or None if it does not import."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        if inspect.ismodule(obj):
            return obj.__name__
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if module and qualname and module.startswith("mmsim"):
            return f"{module}.{qualname}"
        return None
    return None


# ---- links from pages to other files of the repository --------------------------------------------------------


def link_repository_files(app: Sphinx, doctree: nodes.document) -> None:
    """A page's link to a file of the repository that is not part of the site (``../README.md``,
    ``../mmsim/addrspace.py``) links to the API page of that module when there is one, else to a copy of the file
    (a Sphinx download). Links to files that do not exist, in the repository or outside it, are left to MyST, which
    reports them (an error, with ``-W``)."""
    root_setting = app.config.mmsim_repository_root
    if not root_setting:
        return
    root = Path(root_setting).resolve()
    srcdir = Path(app.srcdir)
    docname = app.env.docname
    doc_dir = Path(app.env.doc2path(docname, base=False)).parent  # the same in the stage and in the repository
    for node in list(doctree.findall(addnodes.pending_xref)):
        if node.get("reftype") != "myst" or node.get("refdomain"):
            continue  # resolved by MyST already (a page of the site), or not a link to a path
        path = str(node.get("reftarget", "")).split("#", 1)[0]
        if not path or re.match(r"^[a-z][a-z0-9+.-]*:", path, re.IGNORECASE):
            continue
        target = (root / doc_dir / path).resolve()
        if not target.is_file() or root not in target.parents:
            continue
        rel = target.relative_to(root)
        children = [child.deepcopy() for child in node.children] or [nodes.literal(str(rel), str(rel))]
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__") if rel.suffix == ".py" else ""
        if module and f"api/{module}" in app.env.found_docs:
            new: nodes.Element = addnodes.pending_xref(
                "", *children, refdomain="std", reftype="doc", reftarget=f"/api/{module}", refexplicit=True,
                refdoc=docname, refwarn=True,
            )  # fmt: skip
        else:
            new = addnodes.download_reference(
                "", "", *children, reftarget=os.path.relpath(target, srcdir / doc_dir), refdoc=docname,
                refexplicit=True, classes=["xref", "download", "myst"],
            )  # fmt: skip
        node.replace_self(new)


# ---- API pages: long values -----------------------------------------------------------------------------------

MAX_VALUE_CHARS = 100


def shorten_long_values(app: Sphinx, doctree: nodes.document) -> None:
    """Cut the ``= value`` that autodoc shows after a module attribute when it is long (a catalogue of scenarios
    is thousands of characters): the first ``MAX_VALUE_CHARS`` characters and an ellipsis."""
    for desc in doctree.findall(addnodes.desc):
        if desc.get("domain") != "py" or desc.get("objtype") not in ("data", "attribute"):
            continue
        for annotation in desc.findall(addnodes.desc_annotation):
            children = annotation.children
            if (
                len(children) >= 2
                and isinstance(children[-1], nodes.Text)
                and any(isinstance(c, addnodes.desc_sig_punctuation) and c.astext() == "=" for c in children)
                and len(children[-1]) > MAX_VALUE_CHARS
            ):
                text = str(children[-1])
                annotation.replace(children[-1], nodes.Text(text[: MAX_VALUE_CHARS - 1].rstrip() + "…"))


# ---- notebook pages: the launch box ----------------------------------------------------------------------------


def _is_notebook(env: Any, docname: str) -> bool:
    return str(env.doc2path(docname)).endswith(".ipynb")


def add_launch_box(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    docname = env.docname
    if not _is_notebook(env, docname):
        return
    filename = Path(docname).name + ".ipynb"
    box = nodes.admonition(classes=[LAUNCH_BOX_CLASS, "tip"])
    box += nodes.title("", "Run this notebook")
    para = nodes.paragraph()
    para += nodes.raw(
        "",
        f'<a class="reference download mmsim-download" href="{filename}" download="{filename}">'
        f"Download <code>{filename}</code></a>",
        format="html",
    )
    para += nodes.Text(" (without outputs). To run it, in a clone or download of the repository, ")
    para += nodes.literal("make lab", "make lab")
    para += nodes.Text(" sets up a virtual environment and opens the course in JupyterLab; the notebook is in ")
    para += nodes.literal("notebooks/", "notebooks/")
    para += nodes.Text(". More ways: ")
    xref = addnodes.pending_xref(
        "", refdomain="std", reftype="doc", reftarget=f"/{LAUNCH_DOC}", refexplicit=True, refwarn=True
    )
    xref += nodes.inline("", "run the course yourself")
    para += xref
    para += nodes.Text(".")
    box += para

    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        doctree.insert(0, box)
        return
    index = next((i + 1 for i, child in enumerate(section.children) if isinstance(child, nodes.title)), 0)
    section.insert(index, box)


def copy_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Write each notebook (as staged: outputs stripped) next to its page, for the download link."""
    if exception is not None or app.builder.format != "html":
        return
    for docname in sorted(app.env.found_docs):
        if _is_notebook(app.env, docname):
            dest = Path(app.outdir) / (docname + ".ipynb")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(app.env.doc2path(docname), dest)


# ---- widget outputs --------------------------------------------------------------------------------------------


_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")
_VIEW_MODEL_ID = re.compile(r'model_id\\?"\s*:\s*\\?"([0-9a-f]+)')


def _widget_images(state: dict[str, Any], model_id: str) -> list[bytes]:
    """The images (PNG bytes) that the Output widgets inside widget ``model_id`` showed when the notebook ran,
    in the order the widget tree lists them: a figure of the explorer's initial state."""
    images: list[bytes] = []
    seen: set[str] = set()

    def visit(mid: str) -> None:
        if mid in seen or mid not in state:
            return
        seen.add(mid)
        model = state[mid]
        if model.get("model_name") == "OutputModel":
            for output in model.get("state", {}).get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if png:
                    images.append(base64.b64decode("".join(png) if isinstance(png, list) else png))
        for ref in _MODEL_REF.findall(json.dumps(model.get("state", {}))):
            visit(ref)

    visit(model_id)
    return images


def static_widget_figures(app: Sphinx, doctree: nodes.document) -> None:
    """Give each widget output of a notebook page the figure its Output widget showed when the notebook ran.

    nbclient (which MyST-NB executes with) saves the state of every widget in the notebook's metadata, Output
    widgets' outputs included; MyST-NB would embed that state in the page for a widget manager loaded from a CDN.
    Here the state is not embedded: its images become an ``image/png`` alternative of the widget's output, which
    :class:`WidgetNotes` then shows with a note. A cell that shows an image of its own is left alone.
    """
    env = app.env
    docname = env.docname
    if not _is_notebook(env, docname):
        return
    js_files = getattr(env, "nb_metadata", {}).get(docname, {}).get("js_files", {})
    saved = js_files.pop("ipywidgets_state", None)
    if not saved:
        return
    try:
        state = json.loads(saved[1].get("body", "{}")).get("state", {})
    except ValueError:
        logger.warning("cannot read the saved widget state of %s", docname, location=docname)
        return
    out_dir = Path(app.outdir).parent / "jupyter_execute" / "widget-figures"
    for bundle in list(doctree.findall(_is_bundle)):
        views = [c for c in bundle.children if c.get("mime_type") == WIDGET_VIEW]
        if not views or any(m.startswith("image/") for m in _mime_types(bundle)) or _image_beside(bundle):
            continue
        match = _VIEW_MODEL_ID.search(views[0].astext())
        images = _widget_images(state, match.group(1)) if match else []
        if not images:
            continue
        container = nodes.container(mime_type="image/png")
        for data in images:
            path = out_dir / f"{hashlib.sha256(data).hexdigest()}.png"
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            container += nodes.image(uri="/" + os.path.relpath(path, app.srcdir), alt="the explorer's initial figure")
        bundle.append(container)



def _is_bundle(node: nodes.Node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "mime_bundle"


def _mime_types(bundle: nodes.Element) -> list[str]:
    return [child.get("mime_type", "") for child in bundle.children]


def _image_beside(bundle: nodes.Element) -> bool:
    """Does the cell of this output display an image in another output?"""
    cell_output = bundle.parent
    while cell_output is not None and "cell_output" not in cell_output.get("classes", []):
        cell_output = cell_output.parent
    if cell_output is None:
        return False
    for other in cell_output.findall(_is_bundle):
        if other is not bundle and any(m.startswith("image/") for m in _mime_types(other)):
            return True
    return any(not _inside(image, bundle) for image in cell_output.findall(nodes.image))


def _inside(node: nodes.Node, ancestor: nodes.Node) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


class WidgetNotes(SphinxPostTransform):
    """Replace widget views (empty without a widget manager) with a note; keep the bundle's static image.

    Runs before MyST-NB's ``SelectMimeType`` (priority 4), which would pick the widget view over an
    ``image/png`` of the same output.
    """

    default_priority = 3

    def run(self, **kwargs: Any) -> None:
        for bundle in list(self.document.findall(_is_bundle)):
            mimes = _mime_types(bundle)
            if WIDGET_VIEW not in mimes:
                continue
            has_image = any(m.startswith("image/") for m in mimes) or _image_beside(bundle)
            for child in list(bundle.children):
                # the widget's placeholder and its text repr ("VBox(children=...)") say nothing on a static page
                if child.get("mime_type") in (WIDGET_VIEW, "text/plain"):
                    bundle.remove(child)
            bundle.parent.insert(bundle.parent.index(bundle) + 1, self._note(has_image))
            if not bundle.children:
                bundle.parent.remove(bundle)

    @staticmethod
    def _note(has_image: bool) -> nodes.Element:
        note = nodes.container(classes=[WIDGET_NOTE_CLASS])
        para = nodes.paragraph()
        para += nodes.strong("", "Interactive in Jupyter.")
        if has_image:
            text = (" The figure is this explorer's initial state; its controls (ipywidgets) work when you run "
                    "the notebook in Jupyter, e.g. with ")
        else:
            text = " This explorer's controls (ipywidgets) work only in a live kernel: run the notebook, e.g. with "
        para += nodes.Text(text)
        para += nodes.literal("make lab", "make lab")
        para += nodes.Text(".")
        note += para
        return note


# ---- readable figures: text alternatives, quiet code, wide tables ----------------------------------------------


def png_text(data: bytes) -> dict[str, str]:
    """The text chunks (tEXt, zTXt, iTXt) of a PNG, by keyword."""
    import zlib

    out: dict[str, str] = {}
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return out
    pos = 8
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        with contextlib.suppress(Exception):
            if kind == b"tEXt":
                key, _, value = chunk.partition(b"\0")
                out[key.decode("latin-1")] = value.decode("latin-1")
            elif kind == b"zTXt":
                key, _, rest = chunk.partition(b"\0")
                out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                key, _, rest = chunk.partition(b"\0")
                flag, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _tkey, _, text = rest.partition(b"\0")
                out[key.decode("latin-1")] = (zlib.decompress(text) if flag else text).decode("utf-8")
        if kind == b"IEND":
            break
        pos += 12 + n
    return out


def _shorten(text: str, limit: int = MAX_ALT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0].rstrip(" .,;:—-") + "…"


def _image_file(app: Sphinx, docname: str, uri: str) -> Path | None:
    for candidate in (Path(uri), Path(app.srcdir) / uri.lstrip("/"), Path(app.srcdir) / Path(docname).parent / uri):
        if candidate.is_file():
            return candidate
    return None


def _cell_call(node: nodes.Node) -> str:
    """The last line of the code cell around ``node`` that calls something (what drew the figure)."""
    cell = node.parent
    while cell is not None and "cell" not in cell.get("classes", []):
        cell = cell.parent
    if cell is None:
        return ""
    for block in cell.findall(nodes.literal_block):
        lines = [ln.strip() for ln in block.astext().splitlines() if "(" in ln and not ln.strip().startswith("#")]
        if lines:
            return lines[-1]
    return ""


def figure_alt_texts(app: Sphinx, doctree: nodes.document) -> None:
    """Give every image a text alternative of at most :data:`MAX_ALT` characters (see the module docstring)."""
    docname = app.env.docname
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        alt = image.get("alt", "")
        path = _image_file(app, docname, uri) if uri.endswith(".png") else None
        described = png_text(path.read_bytes()).get("Description", "") if path is not None else ""
        if described:
            image["alt"] = _shorten(described)
        elif not alt or len(alt) < 10 or re.fullmatch(r"[0-9a-f]{16,}(\.png)?", alt):
            call = _cell_call(image)
            image["alt"] = _shorten(f"Figure drawn by {call}" if call else f"Figure on {docname}")
        else:
            image["alt"] = _shorten(alt)


def quiet_test_markers(app: Sphinx, doctree: nodes.document) -> None:
    """Leave nbval's ``# NBVAL_...`` marker lines out of the code a notebook page shows."""
    if not _is_notebook(app.env, app.env.docname):
        return
    for block in list(doctree.findall(nodes.literal_block)):
        text = block.astext()
        if "NBVAL_" not in text:
            continue
        quiet = NBVAL_MARKER.sub("", text)
        block[:] = [nodes.Text(quiet)]
        block.rawsource = quiet  # Sphinx highlights a block only when its rawsource is its text


def wide_tables(app: Sphinx, doctree: nodes.document) -> None:
    """The tables of :data:`WIDE_PAGES`: fixed layout, wrapping code (class ``mmsim-fixed``; site CSS)."""
    if app.env.docname not in WIDE_PAGES:
        return
    for table in doctree.findall(nodes.table):
        table["classes"] = [*table.get("classes", []), "mmsim-fixed"]


# ---- setup -----------------------------------------------------------------------------------------------------


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("mmsim_repository_root", "", "env", types=[str])
    app.add_directive("mmsim-cli", CliDirective)
    app.add_directive("mmsim-toctree", OptionalGlobTocTree)
    app.add_directive("mmsim-public-names", PublicNamesDirective)
    # before the image collector (priority 500), which registers the images a page uses
    app.connect("doctree-read", static_widget_figures, priority=400)
    app.connect("doctree-read", figure_alt_texts, priority=450)  # after the widget figures, before the collector
    app.connect("doctree-read", quiet_test_markers)
    app.connect("doctree-read", wide_tables)
    app.add_js_file("mmsim-zoom.js", loading_method="defer")
    app.connect("doctree-read", link_repository_files, priority=400)  # before the download collector, too
    app.connect("doctree-read", add_launch_box)
    app.connect("doctree-read", shorten_long_values)
    app.connect("missing-reference", resolve_reexport)
    app.connect("build-finished", copy_notebooks)
    app.add_post_transform(WidgetNotes)
    # A change to this file changes env_version, so Sphinx reads every page again instead of keeping doctrees
    # that an older version of these transforms made.
    env_version = int(hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8], 16)
    return {"version": "1", "env_version": env_version, "parallel_read_safe": True, "parallel_write_safe": True}
