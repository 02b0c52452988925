"""Build hook: compile mmsim's core with mypyc (mmsim.native.COMPILED), or leave it pure Python.

Everything else is in pyproject.toml. The compiled extensions are optional: without a C compiler or the
Python headers the build warns and installs the pure-Python modules, which are the same code. Editable
installs stay pure unless MMSIM_MYPYC=1 (an in-place extension would shadow the .py file being edited);
MMSIM_PURE=1 never compiles.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def _compiled() -> tuple[str, ...]:
    """mmsim.native.COMPILED, read without importing mmsim."""
    tree = ast.parse((HERE / "mmsim" / "native.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "COMPILED":
            return tuple(ast.literal_eval(node.value))  # type: ignore[arg-type]
    raise RuntimeError("mmsim/native.py has no COMPILED tuple")


def _paths(modules: tuple[str, ...]) -> list[str]:
    out = []
    for m in modules:
        p = Path(*m.split("."))
        out.append(str(p / "__init__.py") if (HERE / p).is_dir() else f"{p}.py")
    return out


def ext_modules() -> list:
    """The mypyc extensions, or none: only when a build runs (not while pip asks for metadata), never for an
    editable install unless MMSIM_MYPYC=1, and never at the price of the install (any failure: pure Python)."""
    if os.environ.get("MMSIM_PURE") == "1":
        return []
    if not {"bdist_wheel", "build_ext", "build", "install", "editable_wheel"} & set(sys.argv[1:]):
        return []
    if "editable_wheel" in sys.argv and os.environ.get("MMSIM_MYPYC") != "1":
        return []
    try:
        from mypyc.build import mypycify

        # The build environment has mypy but not the libraries (pandas, ...): their imports are Any (a mypy flag;
        # mypycify takes mypy's flags among its paths).
        exts = mypycify(["--ignore-missing-imports", *_paths(_compiled())], opt_level="3")
    except (Exception, SystemExit) as e:  # mypyc missing, or its type check failed: the same code, pure
        print(f"mmsim: no compiled core ({type(e).__name__}: {e}); installing the pure-Python modules",
              file=sys.stderr)
        return []
    for e in exts:
        e.optional = True  # no compiler or headers: build_ext warns and the .py modules are installed
    return exts


setup(ext_modules=ext_modules())
