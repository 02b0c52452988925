"""What a live run measured: the arena's VMAs, one result per operation, the whole run."""

from __future__ import annotations

import errno as _errno
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..constants import PAGE_SIZE
from ..deprecation import renamed_attribute

__all__ = ["LiveRun", "LiveVMA", "OpResult", "errno_name", "format_op", "where"]



@dataclass(frozen=True)
class LiveVMA:
    """One VMA of the arena as /proc/self/maps shows it; ``start``/``end`` are offsets from the arena base.

    ``pgoff`` is the offset column in pages. The kernel prints it only for VMAs with a file
    (``show_map_vma()`` in fs/proc/task_mmu.c); for private anonymous memory it is always 0, whatever
    vm_pgoff is, so :func:`compare` shows the model's anonymous VMAs the same way.
    """

    start: int
    end: int
    perms: str
    pgoff: int
    path: str = ""

    @property
    def key(self) -> tuple[int, int, str, int]:
        """``(start, end, perms, pgoff)``: what :func:`compare` compares."""
        return (self.start, self.end, self.perms, self.pgoff)

    def __str__(self) -> str:
        return f"[{self.start:#x}, {self.end:#x}) {self.perms} pgoff={self.pgoff:#x}" + (
            f" {self.path}" if self.path else ""
        )


@dataclass(frozen=True)
class OpResult:
    """The outcome of one live operation.

    ``ret`` is the return value: for mmap/mremap an arena offset when ``ret_in_arena``, else the absolute
    address; 0 for the others; None on failure. ``errno`` is 0 on success. ``vmas`` are the arena's VMAs
    after the call. ``free_slots`` is the number of free slots requested before it (None if not controlled).
    """

    index: int
    name: str
    args: Mapping[str, Any]
    ret: int | None
    ret_in_arena: bool
    errno: int
    map_count_before: int
    map_count_after: int
    vmas: tuple[LiveVMA, ...]
    free_slots: int | None
    max_map_count: int
    adjust_seconds: float = 0.0
    op_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.errno == 0

    @property
    def delta(self) -> int:
        """map_count after minus before."""
        return self.map_count_after - self.map_count_before

    @property
    def free_slots_before(self) -> int:
        """Free slots before the call: ``max_map_count - map_count_before``."""
        return self.max_map_count - self.map_count_before

    slack = renamed_attribute("free_slots", "slack")
    slack_before = renamed_attribute("free_slots_before", "slack_before")

    @property
    def errno_name(self) -> str:
        """``"ENOMEM"`` etc., ``"OK"`` on success."""
        return errno_name(self.errno)

    @property
    def layout(self) -> tuple[tuple[int, int, str, int], ...]:
        """The arena after the call as ``(start, end, perms, pgoff)`` tuples."""
        return tuple(v.key for v in self.vmas)

    def __str__(self) -> str:
        ret = ""
        if self.ret is not None and self.name in ("mmap", "mremap"):
            ret = f" -> {self.ret:#x}" + ("" if self.ret_in_arena else " (absolute)")
        return (
            f"#{self.index} {format_op(self.name, self.args)}: {self.errno_name}{ret}, "
            f"map_count {self.map_count_before} -> {self.map_count_after} ({self.delta:+d})"
        )


@dataclass(frozen=True)
class LiveRun:
    """Everything a live run measured. Iterating yields the :class:`OpResult` of each operation.

    ``stability`` holds ``(label, count, count_again)`` for consecutive /proc/self/maps counts taken with
    nothing in between (after setup, and right after the first fill); ``fill_seconds`` is how long the
    first adjustment to the requested free slots took (None without one).

    What the model needs to mirror the process, as the child reported it: ``target`` (``"host"``, ``"uml"``
    or ``"qemu"``; ``kernel`` names a guest's kernel), ``release`` and ``max_map_count`` of the kernel that
    ran the operations (for a guest the guest's), ``machine``, ``layout`` (the placement direction the child
    probed: ``"topdown"`` or ``"bottomup"``), ``landing`` (the ``[lo, hi)`` absolute range where kernel-chosen
    placements land),
    ``landing_roof`` (top-down: the page right above the landing gap) or ``landing_floor`` (bottom-up: the
    first fit), and ``task_size`` (probed bottom-up; None where not probed). ``boot_seconds`` is the guest's
    boot time (guests only).
    """

    release: str
    max_map_count: int
    base: int
    arena_pages: int
    initial_map_count: int
    initial_vmas: tuple[LiveVMA, ...]
    results: tuple[OpResult, ...]
    stability: tuple[tuple[str, int, int], ...]
    setup_seconds: float
    fill_seconds: float | None
    total_seconds: float
    filler_pages: int = 0
    landing_roof: int | None = None
    target: str = "host"
    machine: str | None = None
    layout: str = "topdown"
    landing: tuple[int, int] | None = None
    landing_floor: int | None = None
    task_size: int | None = None
    boot_seconds: float | None = None
    kernel: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def arena_size(self) -> int:
        """The arena's length in bytes."""
        return self.arena_pages * PAGE_SIZE

    def __iter__(self) -> Iterator[OpResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, i: int) -> OpResult:
        return self.results[i]

    def __str__(self) -> str:
        lines = [
            f"live run on Linux {self.release}{where(self.target)}: "
            f"max_map_count={self.max_map_count}, {self.layout} placement, arena "
            f"{self.arena_pages} pages at {self.base:#x}, initial map_count {self.initial_map_count}"
        ]
        for r in self.results:
            lines.append("  " + str(r))
            lines.extend("      " + str(v) for v in r.vmas)
        return "\n".join(lines)


def where(target: str) -> str:
    """How a run's header names its target: ``""`` for the host, ``" (user-mode Linux)"``, ``" (qemu)"``."""
    return {"uml": " (user-mode Linux)", "qemu": " (qemu)"}.get(target, "")


def errno_name(err: int | None) -> str:
    """``0 -> "OK"``, ``12 -> "ENOMEM"``, ``None -> "-"``."""
    if err is None:
        return "-"
    if err == 0:
        return "OK"
    return _errno.errorcode.get(err, str(err))


def format_op(name: str, args: Mapping[str, Any]) -> str:
    """``mmap(addr=0x1000, length=0x1000, prot=0x3, flags=0x32)``: arguments in hex, defaults included."""
    parts = []
    for k, v in args.items():
        parts.append(f"{k}={v:#x}" if isinstance(v, int) and v >= 0 else f"{k}={v}")
    return f"{name}({', '.join(parts)})"
