"""mmsim: a kernel-exact model of Linux VMA accounting, for teaching and experiments.

The public surface is small; everything else lives in one module per concept:

* :class:`AddressSpace` (:mod:`mmsim.addrspace`) — VMAs, map_count, mmap/munmap/mprotect/touch/mremap;
* :mod:`mmsim.kernel` — the kernel's flows, one module per file of the kernel's mm/;
* :data:`CHECKS` (:mod:`mmsim.checks`) — the registry of map_count checks;
* :data:`KERNELS` / :data:`PROFILES` (:mod:`mmsim.profiles`) — the modelled kernels, as data;
  :func:`kernel_for_release` (:mod:`mmsim.releases`) maps any release to one;
* :data:`OPS` (:mod:`mmsim.ops`) — the operation vocabulary;
* :func:`classify` / :class:`Outcome` (:mod:`mmsim.outcome`) — OK, CLEAN_FAIL, PARTIAL_FAIL, FALSE_POSITIVE;
* :data:`CATALOGUE` (:mod:`mmsim.scenarios`), :func:`sweep` (:mod:`mmsim.experiments`; in worker processes or
  on a Dask cluster: :mod:`mmsim.parallel`), :func:`read_sweep` (:mod:`mmsim.sweepfile`), and, loaded on
  first use, :mod:`mmsim.plots`, :mod:`mmsim.widgets`, :mod:`mmsim.live`, :mod:`mmsim.procmaps`,
  :mod:`mmsim.exercises`, :mod:`mmsim.cli`.
"""

from .addrspace import AddressSpace, Trial
from .checks import CHECKS, Check
from .constants import (
    DEFAULT_MAX_MAP_COUNT,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    TASK_SIZE,
)
from .errors import MMError
from .ops import OPS
from .outcome import OUTCOMES, Outcome, classify
from .profiles import FEATURES, KERNELS, PROFILES, Profile, register_profile
from .releases import kernel_for_release, release_coverage
from .scenarios import CATALOGUE, Scenario
from .trace import Step, Trace
from .vma import VMA, File

__version__ = "0.1.0"

# Modules that import pandas, matplotlib or ipywidgets load on first use, so `import mmsim` stays light.
_LAZY = {"experiments", "plots", "widgets", "live", "procmaps", "exercises", "cli", "quiz", "svg", "parallel",
         "sweepfile"}
_LAZY_ATTRS = {"sweep": "experiments", "read_sweep": "sweepfile"}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRS:
        return getattr(importlib.import_module(f".{_LAZY_ATTRS[name]}", __name__), name)
    raise AttributeError(f"module 'mmsim' has no attribute {name!r}")


__all__ = [
    "AddressSpace", "Trial", "VMA", "File", "MMError", "Trace", "Step", "Profile", "PROFILES", "KERNELS",
    "FEATURES", "CHECKS", "Check", "OPS", "kernel_for_release", "register_profile", "release_coverage",
    "classify", "Outcome", "OUTCOMES", "CATALOGUE", "Scenario", "sweep", "read_sweep",
    "PAGE_SIZE", "TASK_SIZE", "DEFAULT_MAX_MAP_COUNT",
    "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC",
    "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE", "MAP_FIXED", "MAP_ANONYMOUS",
    "MAP_FIXED_NOREPLACE", "MAP_NORESERVE",
    "MREMAP_MAYMOVE", "MREMAP_FIXED", "MREMAP_DONTUNMAP",
    "__version__",
]
