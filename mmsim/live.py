"""Replay operations on the host kernel, and compare them with the model.

:func:`run` replays a list of operations in a fresh child interpreter (:mod:`mmsim._live_child`) inside a
PROT_NONE arena the child reserved, and reports, for each operation, its result, errno, the VMAs of the
arena and ``map_count`` before and after (``/proc/self/maps`` lines minus ``[vsyscall]``). With ``slack`` it
first brings the child to ``map_count = max_map_count - slack`` exactly, by splitting and merging filler
VMAs outside the arena; it never writes ``vm.max_map_count`` or any other sysctl.

:func:`compare` runs the operations live, replays them on an :class:`mmsim.AddressSpace` that mirrors the
live process (the arena at the same address, the same map_count before every operation) and lines the two
up.

Operations are ``(name, kwargs)`` tuples with the model's argument names::

    ("mmap", {"addr": 0, "length": 4096, "prot": PROT_READ | PROT_WRITE,
              "flags": MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED})
    ("munmap", {"addr": 0, "length": 4096})
    ("mprotect", {"addr": 0, "length": 4096, "prot": PROT_READ})
    ("touch", {"addr": 0, "length": 4096})          # write-fault every page; EFAULT where it cannot
    ("mremap", {"old_address": 0, "old_size": 4096, "new_size": 8192, "flags": 0, "new_address": 0})
    ("nop", {})                                      # no system call: shows the count is stable

Every address argument (``addr``, ``old_address``, ``new_address``) is an offset from the arena's base;
``None`` means the absolute address 0 (no hint). Ranges that could replace or remove memory (munmap,
mprotect, touch, a MAP_FIXED or MAP_FIXED_NOREPLACE mmap, mremap's old range and its MREMAP_FIXED target)
must lie inside the arena, so an experiment can never damage the child's own mappings.
"""

from __future__ import annotations

import errno as _errno
import html
import json
import math
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmsim.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MREMAP_FIXED,
    PAGE_SIZE,
    PROT_NONE,
)

__all__ = [
    "OPS",
    "Comparison",
    "CompareRow",
    "KernelInfo",
    "LiveError",
    "LiveRun",
    "LiveVMA",
    "OpResult",
    "compare",
    "compare_run",
    "kernel_info",
    "profile_for_release",
    "run",
]

#: Operation names and their parameters, in the model's order, with defaults (``REQUIRED`` if none).
REQUIRED = object()
OPS: dict[str, tuple[tuple[str, Any], ...]] = {
    "mmap": (
        ("addr", REQUIRED),
        ("length", REQUIRED),
        ("prot", REQUIRED),
        ("flags", REQUIRED),
        ("fd", -1),
        ("offset", 0),
    ),
    "munmap": (("addr", REQUIRED), ("length", REQUIRED)),
    "mprotect": (("addr", REQUIRED), ("length", REQUIRED), ("prot", REQUIRED)),
    "touch": (("addr", REQUIRED), ("length", PAGE_SIZE)),
    "mremap": (
        ("old_address", REQUIRED),
        ("old_size", REQUIRED),
        ("new_size", REQUIRED),
        ("flags", 0),
        ("new_address", 0),
    ),
    "nop": (),
}
_ADDRESS_ARGS = frozenset({"addr", "old_address", "new_address"})
_ULONG_MAX = (1 << 64) - 1
_MAX_ARENA_PAGES = 1 << 20  # 4 GiB of address space

# MALLOC_MMAP_THRESHOLD_ at glibc's maximum (32 MiB on 64-bit) and a 64 MiB top pad keep the child's
# allocations on the brk heap, whose growth extends [heap] instead of creating VMAs (see _live_child).
_CHILD_ENV = {
    "PYTHONMALLOC": "malloc",
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": str(1 << 62),
    "MALLOC_TOP_PAD_": "67108864",
    "MALLOC_ARENA_MAX": "1",
}
_CHILD_ENV_DROP = (
    "PYTHONDEVMODE",
    "PYTHONTRACEMALLOC",
    "PYTHONMALLOCSTATS",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
)

# The project's spec (shared/spec/kernel-semantics.md §0): which releases each profile models.
_PROFILE_RANGES: tuple[tuple[tuple[int, int], tuple[int, int], str], ...] = (
    ((5, 0), (5, 0), "5.0"),
    ((5, 1), (5, 1), "5.1"),
    ((6, 17), (7, 0), "6.18"),
    ((7, 1), (7, 1), "7.1"),
)
_LIVE_MACHINES = ("x86_64", "aarch64")


class LiveError(RuntimeError):
    """A live run could not be carried out: timeout, crash of the child, or a target it cannot reach."""


# --------------------------------------------------------------------------------------------------------
# Host


@dataclass(frozen=True)
class KernelInfo:
    """What the host is, and whether live runs can be compared with an mmsim profile on it.

    ``can_run`` is true when live runs work here (Linux, a machine with a syscall table, 4 KiB pages,
    a readable max_map_count); ``supported`` also needs the release to be covered by a profile.
    ``reason`` says why not (empty when supported).
    """

    system: str
    release: str
    machine: str
    max_map_count: int | None
    profile: str | None
    supported: bool
    reason: str
    can_run: bool

    def __str__(self) -> str:
        state = "supported" if self.supported else f"unsupported: {self.reason}"
        return (
            f"{self.system} {self.release} ({self.machine}), max_map_count={self.max_map_count}, "
            f"profile={self.profile!r}, {state}"
        )


def profile_for_release(release: str) -> str | None:
    """The mmsim profile that models a kernel release string (``"6.18.44-foo"`` -> ``"6.18"``), or None.

    Per the project's spec: 5.0.x -> "5.0", 5.1.x -> "5.1", 6.17.x to 7.0.x -> "6.18", 7.1.x -> "7.1".
    """
    m = re.match(r"(\d+)\.(\d+)", release)
    if not m:
        return None
    version = (int(m.group(1)), int(m.group(2)))
    for lo, hi, profile in _PROFILE_RANGES:
        if lo <= version <= hi:
            return profile
    return None


def kernel_info() -> KernelInfo:
    """Describe the host kernel: release, ``vm.max_map_count`` (read only), profile and support."""
    uname = os.uname()
    system, release, machine = uname.sysname, uname.release, uname.machine
    max_count: int | None = None
    if system == "Linux":
        try:
            with open("/proc/sys/vm/max_map_count") as f:
                max_count = int(f.read())
        except (OSError, ValueError):
            max_count = None
    profile = profile_for_release(release) if system == "Linux" else None
    reason = ""
    if system != "Linux":
        reason = "live runs need Linux"
    elif machine not in _LIVE_MACHINES:
        reason = f"live runs need x86_64 or aarch64, not {machine}"
    elif os.sysconf("SC_PAGE_SIZE") != PAGE_SIZE:
        reason = f"live runs need {PAGE_SIZE}-byte pages, not {os.sysconf('SC_PAGE_SIZE')}"
    elif max_count is None:
        reason = "cannot read /proc/sys/vm/max_map_count"
    can_run = not reason
    if can_run and profile is None:
        m = re.match(r"(\d+\.\d+)", release)
        reason = f"Linux {m.group(1) if m else release} is not covered by any mmsim profile"
    return KernelInfo(system, release, machine, max_count, profile, not reason, reason, can_run)


# --------------------------------------------------------------------------------------------------------
# Results


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
    after the call. ``slack`` is the slack that was requested before it (None if not controlled).
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
    slack: int | None
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
    def slack_before(self) -> int:
        """Free slots before the call: ``max_map_count - map_count_before``."""
        return self.max_map_count - self.map_count_before

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
    first slack adjustment took (None without a slack).
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
            f"live run on Linux {self.release}: max_map_count={self.max_map_count}, arena "
            f"{self.arena_pages} pages at {self.base:#x}, initial map_count {self.initial_map_count}"
        ]
        for r in self.results:
            lines.append("  " + str(r))
            lines.extend("      " + str(v) for v in r.vmas)
        return "\n".join(lines)


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


# --------------------------------------------------------------------------------------------------------
# Validation


def _page_align(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def _check_int(op: str, name: str, value: Any, *, lo: int = 0, hi: int = _ULONG_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{op}: {name} must be an int, not {type(value).__name__} ({value!r})")
    if not lo <= value <= hi:
        raise ValueError(f"{op}: {name}={value:#x} is outside [{lo:#x}, {hi:#x}]")
    return value


def normalize_ops(ops: Sequence[Any], arena_pages: int) -> list[tuple[str, dict[str, Any]]]:
    """Check operations and fill in defaults; raise ValueError (or TypeError) on anything malformed.

    Each operation is ``(name, kwargs)`` (kwargs may also be a sequence of positional arguments).
    Address arguments are arena offsets (>= 0, or None for address 0). Ranges that could remove or
    replace memory must lie inside the arena of ``arena_pages`` pages.
    """
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence):
        raise TypeError(f"ops must be a list of (name, kwargs) tuples, not {type(ops).__name__}")
    size = arena_pages * PAGE_SIZE
    out: list[tuple[str, dict[str, Any]]] = []
    for i, op in enumerate(ops):
        if isinstance(op, (str, bytes)) or not isinstance(op, Sequence) or len(op) not in (1, 2):
            raise ValueError(f"op #{i}: expected a (name, kwargs) tuple, got {op!r}")
        name = op[0]
        given = op[1] if len(op) == 2 else {}
        if name not in OPS:
            raise ValueError(f"op #{i}: unknown operation {name!r}; expected one of {', '.join(OPS)}")
        params = OPS[name]
        where = f"op #{i} {name}"
        if isinstance(given, Mapping):
            kwargs = dict(given)
        elif isinstance(given, Sequence) and not isinstance(given, (str, bytes)):
            if len(given) > len(params):
                raise ValueError(f"{where}: takes at most {len(params)} arguments, got {len(given)}")
            kwargs = {p: v for (p, _), v in zip(params, given, strict=False)}
        else:
            raise ValueError(f"{where}: arguments must be a dict, not {type(given).__name__}")
        unknown = set(kwargs) - {p for p, _ in params}
        if unknown:
            raise ValueError(
                f"{where}: unexpected argument(s) {', '.join(sorted(unknown))}; "
                f"takes {', '.join(p for p, _ in params) or 'none'}"
            )
        args: dict[str, Any] = {}
        for p, default in params:
            if p not in kwargs:
                if default is REQUIRED:
                    raise ValueError(f"{where}: missing argument {p!r}")
                args[p] = default
                continue
            v = kwargs[p]
            if p in _ADDRESS_ARGS and v is None:
                args[p] = None
            elif p == "fd":
                if _check_int(where, p, v, lo=-(1 << 31), hi=(1 << 31) - 1) != -1:
                    raise ValueError(f"{where}: only anonymous mappings run live (fd must be -1, got {v})")
                args[p] = v
            elif p in ("prot", "flags"):
                args[p] = _check_int(where, p, v, hi=0xFFFFFFFF)
            else:
                args[p] = _check_int(where, p, v)

        def inside(addr: int | None, length: int, what: str, where: str = where) -> None:
            if addr is None or addr + _page_align(length) > size:
                shown = "None" if addr is None else f"{addr:#x}"
                raise ValueError(
                    f"{where}: {what} [{shown}, +{length:#x}) is not inside the {size:#x}-byte arena"
                )

        if name == "mmap" and args["flags"] & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            inside(args["addr"], args["length"], "fixed range")
        elif name in ("munmap", "mprotect", "touch"):
            inside(args["addr"], args["length"], "range")
        elif name == "mremap":
            inside(args["old_address"], args["old_size"], "old range")
            if args["flags"] & MREMAP_FIXED:
                inside(args["new_address"], args["new_size"], "MREMAP_FIXED target")
        out.append((name, args))
    return out


def _slacks(n: int, slack: int | None, slack_before: Mapping[int, int] | None) -> list[int | None]:
    def check(s: Any, what: str) -> int | None:
        if s is None:
            return None
        if isinstance(s, bool) or not isinstance(s, int):
            raise ValueError(f"{what} must be an int or None, not {s!r}")
        if s < -1:
            raise ValueError(f"{what}={s}: map_count cannot exceed max_map_count + 1 (slack -1)")
        return s

    out: list[int | None] = [check(slack, "slack")] * n
    if slack_before is not None:
        if not isinstance(slack_before, Mapping):
            raise ValueError(
                f"slack_before must be a dict {{op_index: slack}}, not {type(slack_before).__name__}"
            )
        for i, s in slack_before.items():
            if isinstance(i, bool) or not isinstance(i, int) or not -n <= i < n:
                raise ValueError(f"slack_before: {i!r} is not the index of one of the {n} ops")
            out[i % n] = check(s, f"slack_before[{i}]")
    return out


# --------------------------------------------------------------------------------------------------------
# Running


def _child_command() -> list[str]:
    """The child's command line: this interpreter on _live_child.py.

    The file is run as a script rather than with ``-m mmsim._live_child`` so that the child neither imports
    the package (``mmsim/__init__`` and its dependencies add mappings and start-up time) nor depends on
    ``mmsim`` being importable from its working directory.
    """
    return [sys.executable, "-s", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_live_child.py")]


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}
    env.update(_CHILD_ENV)
    return env


def _tail(text: str, n: int = 2000) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def run(
    ops: Sequence[Any],
    *,
    arena_pages: int = 256,
    slack: int | None = None,
    slack_before: Mapping[int, int] | None = None,
    timeout: float = 30.0,
) -> LiveRun:
    """Replay ``ops`` on the host kernel in a child process and report what happened.

    ``slack=s`` brings the child to ``map_count = max_map_count - s`` before every operation (``s >= -1``);
    ``slack_before={i: s}`` does it before chosen operations only (and overrides ``slack`` there; ``None``
    leaves the count uncontrolled before that operation). The
    child is killed after ``timeout`` seconds. Raises ValueError/TypeError for bad input (before any child
    starts) and :class:`LiveError` when the run cannot be carried out.
    """
    if (
        isinstance(arena_pages, bool)
        or not isinstance(arena_pages, int)
        or not 1 <= arena_pages <= _MAX_ARENA_PAGES
    ):
        raise ValueError(f"arena_pages must be an int in [1, {_MAX_ARENA_PAGES}], not {arena_pages!r}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not timeout > 0
        or math.isinf(timeout)
    ):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    norm = normalize_ops(ops, arena_pages)
    slacks = _slacks(len(norm), slack, slack_before)
    info = kernel_info()
    if not info.can_run:
        raise LiveError(info.reason)
    request = {
        "ops": [[name, args] for name, args in norm],
        "arena_pages": arena_pages,
        "targets": slacks,
        "alarm": int(math.ceil(timeout)) + 5,
    }
    try:
        proc = subprocess.run(
            _child_command(),
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=timeout,
            env=_child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed and reaped the child
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        msg = f"live run timed out after {timeout:g} s; the child was killed"
        raise LiveError(msg + (f". Its stderr: {_tail(stderr)}" if stderr.strip() else "")) from None
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        if proc.returncode < 0:
            try:
                how = f"was killed by {signal.Signals(-proc.returncode).name}"
            except ValueError:
                how = f"was killed by signal {-proc.returncode}"
        else:
            how = f"exited with status {proc.returncode}"
        raise LiveError(f"the live child {how}" + (f"; stderr: {_tail(stderr)}" if stderr.strip() else ""))
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        raise LiveError(
            f"the live child printed no JSON: {_tail(proc.stdout.decode(errors='replace'), 500)!r}"
            + (f"; stderr: {_tail(stderr)}" if stderr.strip() else "")
        ) from None
    if not out.get("ok"):
        raise LiveError(f"live run failed: {out.get('error', out)}")
    return _build_run(out, norm)


def _build_run(out: Mapping[str, Any], norm: list[tuple[str, dict[str, Any]]]) -> LiveRun:
    base, pages, max_count = out["base"], out["arena_pages"], out["max_map_count"]
    size = pages * PAGE_SIZE

    def vmas(rows: list[list[Any]]) -> tuple[LiveVMA, ...]:
        return tuple(LiveVMA(s - base, e - base, perms, pgoff, path) for s, e, perms, pgoff, path in rows)

    results = []
    for i, ((name, args), r) in enumerate(zip(norm, out["results"], strict=True)):
        ret, in_arena = r["ret"], False
        if ret is not None and name in ("mmap", "mremap") and base <= ret < base + size:
            ret, in_arena = ret - base, True
        results.append(
            OpResult(
                index=i,
                name=name,
                args=args,
                ret=ret,
                ret_in_arena=in_arena,
                errno=r["errno"],
                map_count_before=r["map_count_before"],
                map_count_after=r["map_count_after"],
                vmas=vmas(r["vmas"]),
                slack=r["slack"],
                max_map_count=max_count,
                adjust_seconds=r["adjust_seconds"],
                op_seconds=r["op_seconds"],
            )
        )
    return LiveRun(
        release=out["release"],
        max_map_count=max_count,
        base=base,
        arena_pages=pages,
        initial_map_count=out["initial_map_count"],
        initial_vmas=vmas(out["initial_vmas"]),
        results=tuple(results),
        stability=tuple((str(a), int(b), int(c)) for a, b, c in out["checks"]),
        setup_seconds=out["setup_seconds"],
        fill_seconds=out["fill_seconds"],
        total_seconds=out["total_seconds"],
        filler_pages=out.get("filler_pages", 0),
        landing_roof=out.get("landing_roof"),
        raw=out,
    )


# --------------------------------------------------------------------------------------------------------
# Comparison with the model

Layout = tuple[tuple[int, int, str, int], ...]


@dataclass(frozen=True)
class CompareRow:
    """One operation, live and in the model. ``mismatches`` names what differs ("errno", "layout", ...)."""

    index: int
    op: str
    live_errno: int
    model_errno: int | None
    live_delta: int
    model_delta: int | None
    live_layout: Layout
    model_layout: Layout | None
    live_ret: int | None
    model_ret: int | None
    live_ret_in_arena: bool
    map_count_before: int
    model_error: str | None = None
    mismatches: tuple[str, ...] = ()

    @property
    def match(self) -> bool:
        """True when errno, arena layout, map_count delta (and an in-arena result) all agree."""
        return not self.mismatches


def _layout_str(layout: Layout | None) -> str:
    if layout is None:
        return "-"
    return " ".join(f"[{s:#x},{e:#x}){p}@{g:#x}" for s, e, p, g in layout) or "(empty)"


@dataclass(frozen=True)
class Comparison:
    """A live run next to the model's replay of the same operations (see :func:`compare`)."""

    kernel: str
    live: LiveRun
    rows: tuple[CompareRow, ...]
    initial_live_layout: Layout
    initial_model_layout: Layout | None

    @property
    def initial_match(self) -> bool:
        """True when the arena looks the same before the first operation."""
        return self.initial_live_layout == self.initial_model_layout

    @property
    def n_ops(self) -> int:
        """Number of operations compared."""
        return len(self.rows)

    @property
    def n_matched(self) -> int:
        """Number of operations whose live and model outcomes agree."""
        return sum(r.match for r in self.rows)

    @property
    def all_match(self) -> bool:
        """True when the initial arena and every operation agree."""
        return self.initial_match and self.n_matched == self.n_ops

    @property
    def mismatched(self) -> tuple[CompareRow, ...]:
        """The rows that do not match."""
        return tuple(r for r in self.rows if not r.match)

    def to_dataframe(self) -> Any:
        """The rows as a pandas DataFrame (pandas is imported here, not at module import)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "op": r.op,
                    "slack": self.live.max_map_count - r.map_count_before,
                    "live_errno": errno_name(r.live_errno),
                    "model_errno": errno_name(r.model_errno),
                    "live_delta": r.live_delta,
                    "model_delta": r.model_delta,
                    "live_layout": _layout_str(r.live_layout),
                    "model_layout": _layout_str(r.model_layout),
                    "match": r.match,
                    "mismatches": ", ".join(r.mismatches),
                }
                for r in self.rows
            ],
            index=pd.RangeIndex(len(self.rows), name="index"),
        )

    def _header(self) -> str:
        return (
            f"live Linux {self.live.release} vs mmsim profile {self.kernel}: {self.n_matched}/{self.n_ops} "
            f"operations match (max_map_count={self.live.max_map_count}, arena {self.live.arena_pages} pages"
            f" at {self.live.base:#x})"
        )

    def __str__(self) -> str:
        lines = [self._header()]
        if not self.initial_match:
            lines.append(
                f"  initial arena differs: live {_layout_str(self.initial_live_layout)}; "
                f"model {_layout_str(self.initial_model_layout)}"
            )
        for r in self.rows:
            slack = self.live.max_map_count - r.map_count_before
            mark = "ok  " if r.match else "DIFF"
            lines.append(
                f"{mark} #{r.index} {r.op} [slack {slack}]: live {errno_name(r.live_errno)} "
                f"{r.live_delta:+d}, model {errno_name(r.model_errno)} "
                + ("-" if r.model_delta is None else f"{r.model_delta:+d}")
            )
            if not r.match:
                lines.append(f"       differs in: {', '.join(r.mismatches)}")
                if r.model_error:
                    lines.append(f"       model raised: {r.model_error}")
                if "layout" in r.mismatches:
                    lines.append(f"       live : {_layout_str(r.live_layout)}")
                    lines.append(f"       model: {_layout_str(r.model_layout)}")
                if "ret" in r.mismatches:
                    lines.append(f"       ret live {r.live_ret!r}, model {r.model_ret!r}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (
            "<tr><th>#</th><th>op</th><th>slack</th><th>live</th><th>model</th><th>live arena</th>"
            "<th>model arena</th><th>match</th></tr>"
        )
        body = []
        for r in self.rows:
            style = "" if r.match else ' style="background:#fdd"'
            slack = self.live.max_map_count - r.map_count_before
            model = f"{errno_name(r.model_errno)} " + (
                "-" if r.model_delta is None else f"{r.model_delta:+d}"
            )
            if r.model_error:
                model += f" ({r.model_error})"
            body.append(
                f"<tr{style}><td>{r.index}</td><td><code>{esc(r.op)}</code></td><td>{slack}</td>"
                f"<td>{errno_name(r.live_errno)} {r.live_delta:+d}</td><td>{esc(model)}</td>"
                f"<td><code>{esc(_layout_str(r.live_layout))}</code></td>"
                f"<td><code>{esc(_layout_str(r.model_layout))}</code></td>"
                f"<td>{'&#10003;' if r.match else esc('differs: ' + ', '.join(r.mismatches))}</td></tr>"
            )
        return f"<p>{esc(self._header())}</p><table>{head}{''.join(body)}</table>"


def _model_layout(mm: Any, base: int, size: int) -> Layout:
    """The model's arena as /proc/self/maps would show it (no offset for private anonymous VMAs)."""
    return tuple(
        (v.start - base, v.end - base, v.perms, v.pgoff if v.file is not None else 0)
        for v in mm.vmas_in(base, base + size)
    )


def _abs(base: int, off: int | None) -> int:
    return 0 if off is None else base + off


def _model_call(mm: Any, name: str, args: Mapping[str, Any], base: int) -> Any:
    if name == "mmap":
        return mm.mmap(
            _abs(base, args["addr"]), args["length"], args["prot"], args["flags"], args["fd"], args["offset"]
        )
    if name == "munmap":
        return mm.munmap(_abs(base, args["addr"]), args["length"])
    if name == "mprotect":
        return mm.mprotect(_abs(base, args["addr"]), args["length"], args["prot"])
    if name == "touch":
        return mm.touch(_abs(base, args["addr"]), args["length"])
    if name == "mremap":
        return mm.mremap(
            _abs(base, args["old_address"]),
            args["old_size"],
            args["new_size"],
            args["flags"],
            _abs(base, args["new_address"]),
        )
    return None  # nop


def compare(
    ops: Sequence[Any],
    kernel: str = "6.18",
    *,
    slack: int | None = None,
    slack_before: Mapping[int, int] | None = None,
    arena_pages: int = 256,
    timeout: float = 30.0,
) -> Comparison:
    """Run ``ops`` live, replay them on ``mmsim.AddressSpace(kernel=...)`` and compare them op by op.

    ``compare(ops, k, ...)`` is ``compare_run(run(ops, ...), k)``: see :func:`compare_run` for what is
    compared. Raises what :func:`run` raises.
    """
    live = run(ops, arena_pages=arena_pages, slack=slack, slack_before=slack_before, timeout=timeout)
    return compare_run(live, kernel)


def compare_run(live: LiveRun, kernel: str = "6.18") -> Comparison:
    """Replay a finished live run on ``mmsim.AddressSpace(kernel=...)`` and compare it op by op.

    The model gets the arena at the live base address (so private anonymous pgoffs agree) and, before every
    operation, exactly the live process's map_count (``mm.pad``). For each operation the errno, the
    arena's VMAs (offsets, perms, pgoff as /proc shows it) and the map_count delta are compared, and the
    returned address when the live one lies inside the arena (a MAYMOVE relocation elsewhere is compared
    only through the delta and the arena). An exception other than ``MMError`` from the model is recorded
    in the row (``model_error``), not raised. One live run can be compared with several profiles.
    """
    import mmsim

    base, size = live.base, live.arena_size
    mm = mmsim.AddressSpace(kernel=kernel, max_map_count=live.max_map_count)
    if live.landing_roof is not None:
        # The child keeps a free gap under a "roof" page above the arena; top-down placement (a MAYMOVE
        # relocation, a hint-less mmap) lands right under the roof there, and in the model under mmap_base.
        mm.mmap_base = live.landing_roof
    mm.mmap(base, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED)
    mm.pad(live.initial_map_count - mm.map_count)
    initial_model = _model_layout(mm, base, size)
    initial_live = tuple(v.key for v in live.initial_vmas)
    rows = []
    for r in live.results:
        model_errno: int | None = 0
        model_ret: Any = None
        model_error = None
        try:
            mm.pad(r.map_count_before - mm.map_count)
        except ValueError as e:  # the model has more VMAs of its own than the live process
            model_error = f"cannot match map_count {r.map_count_before}: {e}"
        before = mm.map_count
        try:
            model_ret = _model_call(mm, r.name, r.args, base)
        except mmsim.MMError as e:
            model_errno = e.errno
        except Exception as e:  # a model bug must show up in the comparison, not abort it
            model_errno, model_error = None, f"{type(e).__name__}: {e}"
        model_delta = mm.map_count - before
        model_layout = _model_layout(mm, base, size)
        model_abs = model_ret if isinstance(model_ret, int) else None
        if r.name not in ("mmap", "mremap") or model_errno != 0 or not isinstance(model_ret, int):
            model_ret = None
        elif base <= model_ret < base + size:
            model_ret -= base
        mismatches = []
        if model_error is not None:
            mismatches.append("model error")
        if model_errno != r.errno:
            mismatches.append("errno")
        if model_layout != r.layout:
            mismatches.append("layout")
        if model_delta != r.delta:
            mismatches.append("map_count delta")
        if r.ok and r.ret_in_arena and model_ret != r.ret:
            mismatches.append("ret")
        elif (r.ok and not r.ret_in_arena and live.landing_roof is not None and r.ret is not None
              and base + size < r.ret < live.landing_roof and model_abs != r.ret):
            mismatches.append("ret")  # placed in the landing gap: the model must pick the same address
        rows.append(
            CompareRow(
                index=r.index,
                op=format_op(r.name, r.args),
                live_errno=r.errno,
                model_errno=model_errno,
                live_delta=r.delta,
                model_delta=model_delta,
                live_layout=r.layout,
                model_layout=model_layout,
                live_ret=r.ret,
                model_ret=model_ret,
                live_ret_in_arena=r.ret_in_arena,
                map_count_before=r.map_count_before,
                model_error=model_error,
                mismatches=tuple(mismatches),
            )
        )
    return Comparison(kernel, live, tuple(rows), initial_live, initial_model)
