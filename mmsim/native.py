"""Whether mmsim's core runs compiled (mypyc) or as pure Python.

A regular install (``pip install .``, a wheel) compiles :data:`COMPILED` with mypyc when the build has a C
compiler and the Python headers; without them, or with ``MMSIM_PURE=1``, or in an editable install (unless
``MMSIM_MYPYC=1``: a compiled module would shadow the source you edit), the same modules run as pure Python.
Both are the same code: the flows are written once, and the compiled build only makes them faster
(``benchmarks/bench_studies.py`` measures by how much).

>>> set(compiled_modules()) <= set(COMPILED)
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["COMPILED", "compiled_modules", "mypyc_attr"]

#: The modules mypyc compiles (setup.py reads this tuple): the tree, the VMA record, the trace and the kernel
#: flows. The rest (checks, profiles, sweeps, plots) imports and calls them unchanged. ``mmsim.addrspace``, the
#: public entry points, stays Python: compiled, its annotations become C-level type checks that fire before
#: its own argument checks (a numpy int is refused, ``None`` gets "int object expected" instead of a
#: TypeError naming the argument), so its behaviour would differ between the two builds.
COMPILED: tuple[str, ...] = (
    "mmsim.vmatree", "mmsim.vma", "mmsim.trace",
    "mmsim.kernel", "mmsim.kernel.call", "mmsim.kernel.memory", "mmsim.kernel.mmap", "mmsim.kernel.mprotect",
    "mmsim.kernel.mremap", "mmsim.kernel.vma",
)

_T = TypeVar("_T")

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # pure Python without mypy_extensions: the marker does nothing
    def mypyc_attr(*_a: Any, **_k: Any) -> Callable[[_T], _T]:  # type: ignore[misc]
        return lambda cls: cls


def compiled_modules() -> list[str]:
    """The modules of :data:`COMPILED` that this interpreter loaded from a compiled extension. O(modules)."""
    out = []
    for name in COMPILED:
        f = getattr(importlib.import_module(name), "__file__", "") or ""
        if not f.endswith(".py"):
            out.append(name)
    return out
