"""Replay operations on a real kernel, and compare them with the model.

:func:`run` replays a list of operations in a fresh child interpreter (:mod:`mmsim.live.child`) inside a
PROT_NONE arena the child reserved, and reports, for each operation, its result, errno, the VMAs of the
arena and ``map_count`` before and after (``/proc/self/maps`` lines minus ``[vsyscall]``). With ``free_slots`` it
first brings the child to ``map_count = max_map_count - free_slots`` exactly, by splitting and merging filler
VMAs outside the arena; it never writes ``vm.max_map_count`` or any other sysctl.

:func:`compare` runs the operations live, replays them on an :class:`mmsim.AddressSpace` that mirrors the
live process (the arena at the same address, the same map_count before every operation) and lines the two
up.

Operations are ``(name, kwargs)`` tuples in the vocabulary of :mod:`mmsim.ops`::

    ("mmap", {"addr": 0, "length": 4096, "prot": PROT_READ | PROT_WRITE,
              "flags": MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED})
    ("munmap", {"addr": 0, "length": 4096})
    ("mprotect", {"addr": 0, "length": 4096, "prot": PROT_READ})
    ("touch", {"addr": 0, "length": 4096})          # write-fault every page; EFAULT where it cannot
    ("mremap", {"old_address": 0, "old_size": 4096, "new_size": 8192, "flags": 0, "new_address": None})
    ("nop", {})                                      # no system call: shows the count is stable

Every address argument (``addr``, ``old_address``, ``new_address``) is an offset from the arena's base;
``None`` means the absolute address 0 (no hint). Ranges that could replace or remove memory (munmap,
mprotect, touch, a MAP_FIXED or MAP_FIXED_NOREPLACE mmap, mremap's old range and its MREMAP_FIXED target)
must lie inside the arena, so an experiment can never damage the child's own mappings.

Two kernels: ``target="host"`` (the default) is this machine's; ``target="uml"`` boots a fresh user-mode
Linux guest (:mod:`~mmsim.live.uml`, Debian's ``linux.uml``: Linux 6.1) for each run and runs the same child
there, after lowering the GUEST's ``vm.max_map_count`` (``guest_max_map_count``, default 1024). The child
probes how the kernel places hint-less mappings (top-down on the host, bottom-up under UML) and lays out
its landing gap to match; :func:`compare` sets the model up from what it reported.

The package: :mod:`~mmsim.live.host` (the targets' kernels), :mod:`~mmsim.live.results` (what a run
measured), :mod:`~mmsim.live.runner` (validation and the bounded child), :mod:`~mmsim.live.comparison` (the
model next to the kernel), :mod:`~mmsim.live.uml` (the user-mode Linux boot harness) and
:mod:`~mmsim.live.child` (the stdlib-only child itself).
"""

from __future__ import annotations

from ..profiles import profile_for_release
from .comparison import CompareRow, Comparison, compare, compare_run
from .host import TARGETS, KernelInfo, kernel_info
from .results import LiveRun, LiveVMA, OpResult, errno_name, format_op
from .runner import LiveError, build_run, normalize_ops, run

__all__ = [
    "CompareRow",
    "Comparison",
    "KernelInfo",
    "LiveError",
    "LiveRun",
    "LiveVMA",
    "OpResult",
    "TARGETS",
    "build_run",
    "compare",
    "compare_run",
    "errno_name",
    "format_op",
    "kernel_info",
    "normalize_ops",
    "profile_for_release",
    "run",
]
