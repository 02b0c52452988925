"""Run operations on a real kernel in a bounded child process (:mod:`mmsim.live.child`).

:func:`run` validates the operations (:func:`normalize_ops`: the vocabulary of :mod:`mmsim.ops`, plus the
live-only rules: ints in range, anonymous mappings only, every range that could remove or replace memory
inside the arena), starts the child with a time bound, and turns its JSON into a
:class:`~mmsim.live.results.LiveRun`.

Two targets: ``"host"`` runs the child on this machine's kernel and never writes ``vm.max_map_count`` or any
other sysctl; ``"uml"`` runs it, with this same interpreter reached through hostfs, inside a fresh
user-mode Linux guest (:mod:`mmsim.live.uml`: Linux 6.1 on Debian), after setting the GUEST's
``vm.max_map_count`` (low by default, so that near-limit fills are cheap). The host's sysctls are never
written either way.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .. import ops as _ops
from ..constants import MAP_FIXED, MAP_FIXED_NOREPLACE, MREMAP_FIXED, PAGE_SIZE, TASK_SIZE, page_align
from ..deprecation import renamed_arguments
from . import kernels as _kernels
from . import qemu as _qemu
from . import uml as _uml
from .guest import GuestError, GuestRun, GuestTimeout
from .host import GUEST_MAX_MAP_COUNT, kernel_info, resolve_target
from .results import LiveRun, LiveVMA, OpResult

__all__ = ["GUEST_BOOT_ALLOWANCE", "LiveError", "MAX_ARENA_PAGES", "UML_BOOT_ALLOWANCE", "build_run",
           "child_command", "normalize_ops", "run"]

_log = logging.getLogger("mmsim.live")

_ULONG_MAX = (1 << 64) - 1
#: The largest arena a run may reserve (4 GiB of address space).
MAX_ARENA_PAGES = 1 << 20
#: Seconds a guest run gets on top of ``timeout`` to boot and end its guest (a boot takes 1.5-4 s under
#: user-mode Linux and 3-4 s under qemu's TCG on a loaded 2-core machine).
GUEST_BOOT_ALLOWANCE = 90.0
#: The former name of :data:`GUEST_BOOT_ALLOWANCE`.
UML_BOOT_ALLOWANCE = GUEST_BOOT_ALLOWANCE

# MALLOC_MMAP_THRESHOLD_ at glibc's maximum (32 MiB on 64-bit) and a 64 MiB top pad keep the child's
# allocations on the brk heap, whose growth extends [heap] instead of creating VMAs (see mmsim.live.child).
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


class LiveError(RuntimeError):
    """A live run could not be carried out: timeout, crash of the child, or a target it cannot reach."""



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
        if name not in _ops.OPS:
            raise ValueError(f"op #{i}: unknown operation {name!r}; expected one of {', '.join(_ops.OPS)}")
        where = f"op #{i} {name}"
        kwargs = _ops.normalize(name, given, where=where)
        address_params = _ops.OPS[name].address_params
        args: dict[str, Any] = {}
        for p, v in kwargs.items():
            if p in address_params and v is None:
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
            if addr is None or addr + page_align(length) > size:
                shown = "None" if addr is None else f"{addr:#x}"
                raise ValueError(
                    f"{where}: {what} [{shown}, +{length:#x}) is not inside the {size:#x}-byte arena"
                )

        if name == "mmap" and args["flags"] & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            inside(args["addr"], args["length"], "fixed range")
        elif name in ("munmap", "mprotect", "touch"):
            inside(args["addr"], args["length"], "range")
        elif name == "mremap":
            old_len = page_align(args["old_size"])
            if old_len > TASK_SIZE:
                # The kernel never unmaps or moves more than [addr, addr + new_len) of such an old range: the
                # tail unmap [addr + new_len, addr + old_len) fails do_munmap()'s range check
                # (len > TASK_SIZE - start) before it changes anything, and after a shrink old_len = new_len.
                inside(args["old_address"], min(old_len, page_align(args["new_size"])), "old range")
            else:
                inside(args["old_address"], args["old_size"], "old range")
            if args["flags"] & MREMAP_FIXED:
                inside(args["new_address"], args["new_size"], "MREMAP_FIXED target")
        out.append((name, args))
    return out


def _free_slots_per_op(n: int, free_slots: int | None, free_slots_before: Mapping[int, int] | None) -> list[int | None]:
    def check(s: Any, what: str) -> int | None:
        if s is None:
            return None
        if isinstance(s, bool) or not isinstance(s, int):
            raise ValueError(f"{what} must be an int or None, not {s!r}")
        if s < -1:
            raise ValueError(f"{what}={s}: map_count cannot exceed max_map_count + 1 (-1 free slots)")
        return s

    out: list[int | None] = [check(free_slots, "free_slots")] * n
    if free_slots_before is not None:
        if not isinstance(free_slots_before, Mapping):
            raise ValueError(
                f"free_slots_before must be a dict {{op_index: free_slots}}, not {type(free_slots_before).__name__}"
            )
        for i, s in free_slots_before.items():
            if isinstance(i, bool) or not isinstance(i, int) or not -n <= i < n:
                raise ValueError(f"free_slots_before: {i!r} is not the index of one of the {n} ops")
            out[i % n] = check(s, f"free_slots_before[{i}]")
    return out



def child_command() -> list[str]:
    """The child's command line: this interpreter on child.py.

    The file is run as a script rather than with ``-m mmsim.live.child`` so that the child neither imports
    the package (``mmsim/__init__`` and its dependencies add mappings and start-up time) nor depends on
    ``mmsim`` being importable from its working directory.
    """
    return [sys.executable, "-S", "-s", os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")]


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}
    env.update(_CHILD_ENV)
    return env


def _tail(text: str, n: int = 2000) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


@renamed_arguments(slack="free_slots", slack_before="free_slots_before")
def run(
    ops: Sequence[Any],
    *,
    arena_pages: int = 256,
    free_slots: int | None = None,
    free_slots_before: Mapping[int, int] | None = None,
    timeout: float = 30.0,
    target: str = "host",
    kernel: str | None = None,
    guest_max_map_count: int | None = None,
) -> LiveRun:
    """Replay ``ops`` on a real kernel in a child process and report what happened.

    ``free_slots=s`` brings the child to ``map_count = max_map_count - s`` before every operation (``s >= -1``);
    ``free_slots_before={i: s}`` does it before chosen operations only (and overrides ``free_slots`` there; ``None``
    leaves the count uncontrolled before that operation). The child is killed after ``timeout`` seconds.

    ``target="host"`` (the default) runs on this machine's kernel. A guest target boots a fresh kernel for
    the run and runs the child there with this interpreter: ``"qemu"`` (:mod:`mmsim.live.qemu`) boots
    ``kernel`` (``"5.10"``, ``"6.1"`` or ``"6.12"``, Debian's, fetched and cached on first use; default
    ``"6.1"``), ``"uml"`` the installed user-mode Linux, and ``"auto"`` user-mode Linux where it boots and
    runs ``kernel``, else qemu (:func:`mmsim.live.host.resolve_target`). A guest's ``vm.max_map_count`` is
    set to ``guest_max_map_count`` (default :data:`~mmsim.live.host.GUEST_MAX_MAP_COUNT`); it gets
    :data:`GUEST_BOOT_ALLOWANCE` seconds on top of ``timeout`` to boot and end, and is killed after that. The
    run's ``max_map_count`` and ``release`` are then the guest's. ``guest_max_map_count`` with the host
    target is a ValueError: the host's sysctls are never written.

    Raises ValueError/TypeError for bad input (before any child starts) and :class:`LiveError` when the run
    cannot be carried out (the message says why in one line: e.g. the guest kernel's oops).
    """
    if (
        isinstance(arena_pages, bool)
        or not isinstance(arena_pages, int)
        or not 1 <= arena_pages <= MAX_ARENA_PAGES
    ):
        raise ValueError(f"arena_pages must be an int in [1, {MAX_ARENA_PAGES}], not {arena_pages!r}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not timeout > 0
        or math.isinf(timeout)
    ):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if target == "host" and guest_max_map_count is not None:
        raise ValueError("guest_max_map_count is for a guest target: the host's vm.max_map_count is never written")
    guest_max = GUEST_MAX_MAP_COUNT if guest_max_map_count is None else guest_max_map_count
    if isinstance(guest_max, bool) or not isinstance(guest_max, int) or not 0 <= guest_max < 2**31:
        raise ValueError(f"guest_max_map_count must be an int in [0, 2**31), not {guest_max_map_count!r}")
    target, kernel = resolve_target(target, kernel)
    norm = normalize_ops(ops, arena_pages)
    per_op = _free_slots_per_op(len(norm), free_slots, free_slots_before)
    info = kernel_info(target=target, kernel=kernel)
    if not info.can_run:
        raise LiveError(info.reason)
    request = {
        "ops": [_wire(name, args) for name, args in norm],
        "arena_pages": arena_pages,
        "targets": per_op,
        "alarm": int(math.ceil(timeout)) + 5,
    }
    data = json.dumps(request).encode()
    guest: GuestRun | None = None
    if target == "host":
        who = "the live child"
        try:
            proc = subprocess.run(
                child_command(), input=data, capture_output=True, timeout=timeout, env=_child_env(), check=False
            )
        except subprocess.TimeoutExpired as e:  # subprocess.run has killed and reaped the child
            err_text = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            msg = f"live run timed out after {timeout:g} s; the child was killed"
            raise LiveError(msg + (f". Its stderr: {_tail(err_text)}" if err_text.strip() else "")) from None
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")
    else:
        guest = _run_in_guest(target, kernel, data, timeout, guest_max)
        who = f"the live child ({_GUEST_NAMES[target]}, Linux {guest.release})"
        assert guest.returncode is not None  # the harnesses raise when the guest recorded no exit status
        returncode, stdout, stderr = guest.returncode, guest.stdout, guest.stderr.decode(errors="replace")
    if returncode != 0:
        if returncode < 0:
            try:
                how = f"was killed by {signal.Signals(-returncode).name}"
            except ValueError:
                how = f"was killed by signal {-returncode}"
        else:
            how = f"exited with status {returncode}"
        raise LiveError(f"{who} {how}" + (f"; stderr: {_tail(stderr)}" if stderr.strip() else ""))
    try:
        out = json.loads(stdout)
    except ValueError:
        raise LiveError(
            f"{who} printed no JSON: {_tail(stdout.decode(errors='replace'), 500)!r}"
            + (f"; stderr: {_tail(stderr)}" if stderr.strip() else "")
        ) from None
    if not out.get("ok"):
        raise LiveError(f"live run failed: {out.get('error', out)}")
    if guest is not None and (out["max_map_count"] != guest_max or out["release"] != guest.release):
        raise LiveError(f"the child did not run in the guest: it read max_map_count {out['max_map_count']} and "
                        f"release {out['release']!r}, the guest has {guest_max} and {guest.release!r}")
    return build_run(out, norm, target=target, boot_seconds=None if guest is None else guest.boot_seconds,
                     kernel=kernel)


_GUEST_NAMES = {"uml": "user-mode Linux", "qemu": "qemu"}


def _run_in_guest(target: str, kernel: str | None, data: bytes, timeout: float, guest_max: int) -> GuestRun:
    """Boot the guest, run the child in it, and turn the harness's errors into :class:`LiveError`."""
    name = _GUEST_NAMES[target]
    budget = timeout + GUEST_BOOT_ALLOWANCE
    try:
        if target == "uml":
            return _uml.run_in_uml(child_command(), stdin=data, timeout=budget, env=_child_env(),
                                   max_map_count=guest_max, cwd="/")
        assert kernel is not None
        try:
            image = _kernels.fetch_image(kernel, log=_log.info)
        except _kernels.KernelFetchError as e:
            raise LiveError(f"cannot fetch the guest kernel {kernel}: {e}") from None
        return _qemu.run_in_qemu(child_command(), kernel=image, stdin=data, timeout=budget, env=_child_env(),
                                 max_map_count=guest_max)
    except GuestTimeout as e:
        raise LiveError(f"live run in {name} timed out after {budget:g} s (boot included); the guest was "
                        f"killed ({e})") from None
    except GuestError as e:
        raise LiveError(f"live run in {name} failed: {e}") from None


def _wire(name: str, args: Mapping[str, Any]) -> list[Any]:
    """An operation as the child takes it: name, positional arguments, indices of the address arguments."""
    op = _ops.OPS[name]
    return [name, [args[p.name] for p in op.params], [i for i, p in enumerate(op.params) if p.address]]


def build_run(
    out: Mapping[str, Any],
    norm: list[tuple[str, dict[str, Any]]],
    *,
    target: str = "host",
    boot_seconds: float | None = None,
    kernel: str | None = None,
) -> LiveRun:
    """The :class:`LiveRun` of the child's JSON ``out`` for the normalized operations ``norm``.

    Keys a child of an older layout did not report take their top-down defaults.
    """
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
                free_slots=r["free_slots"],
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
        target=target,
        machine=out.get("machine"),
        layout=out.get("layout", "topdown"),
        landing=(int(lg[0]), int(lg[1])) if (lg := out.get("landing")) else None,
        landing_floor=out.get("landing_floor"),
        task_size=out.get("task_size"),
        boot_seconds=boot_seconds,
        kernel=kernel,
        raw=out,
    )
