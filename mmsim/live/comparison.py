"""A live run next to the model: replay the same operations on a profile and line them up, operation by operation.

The model is set up from what the live child reported (:func:`compare_run`): the profile that models the
release unless one is given (:func:`mmsim.kernel_for_release`), the child's ``max_map_count`` (for a
user-mode Linux run, the guest's), and its placement: top-down under the landing roof, or bottom-up from the
landing gap's bottom with the reported TASK_SIZE. When the profile models the release only approximately
(:func:`mmsim.release_coverage` is not exact), the operations whose outcome the differences can change are
not compared: the first of them and every row after it is marked ``compared=False`` with the reason, and
:attr:`Comparison.n_ops`/:attr:`Comparison.n_matched` count compared rows only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import ops as _ops
from ..addrspace import AddressSpace
from ..constants import MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, PROT_NONE, TASK_SIZE
from ..deprecation import renamed_arguments
from ..errors import MMError
from ..releases import Coverage, parse_release, release_coverage
from .kernels import GUEST_KERNELS
from .results import LiveRun, errno_name, format_op, where
from .runner import run

__all__ = ["CompareRow", "Comparison", "compare", "compare_run"]

Layout = tuple[tuple[int, int, str, int], ...]


@dataclass(frozen=True)
class CompareRow:
    """One operation, live and in the model. ``mismatches`` names what differs ("errno", "layout", ...).

    ``compared`` is False for a row the profile cannot be held to (see :func:`compare_run`): its model
    fields are None and ``not_compared`` gives the reason.
    """

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
    compared: bool = True
    not_compared: str | None = None

    @property
    def match(self) -> bool:
        """True when the row was compared and errno, arena layout, map_count delta (and an in-arena or
        landing-gap result) all agree."""
        return self.compared and not self.mismatches


def _layout_str(layout: Layout | None) -> str:
    if layout is None:
        return "-"
    return " ".join(f"[{s:#x},{e:#x}){p}@{g:#x}" for s, e, p, g in layout) or "(empty)"


@dataclass(frozen=True)
class Comparison:
    """A live run next to the model's replay of the same operations (see :func:`compare`).

    ``profile`` is the model profile the run was replayed on. :attr:`verdict` says in one line what was
    compared and what was not; :attr:`all_match` is true only when something was compared, nothing was left
    out, and everything agreed.
    """

    profile: str
    live: LiveRun
    rows: tuple[CompareRow, ...]
    initial_live_layout: Layout
    initial_model_layout: Layout | None

    @property
    def initial_match(self) -> bool:
        """True when the arena looks the same before the first operation."""
        return self.initial_live_layout == self.initial_model_layout

    coverage: Coverage | None = None

    @property
    def n_ops(self) -> int:
        """Number of operations compared (rows marked not compared do not count)."""
        return sum(r.compared for r in self.rows)

    @property
    def n_matched(self) -> int:
        """Number of compared operations whose live and model outcomes agree."""
        return sum(r.match for r in self.rows)

    @property
    def n_not_compared(self) -> int:
        """Number of operations left out of the comparison (see :func:`compare_run`)."""
        return len(self.rows) - self.n_ops

    @property
    def kernel(self) -> str:
        """The former name of :attr:`profile`."""
        return self.profile

    @property
    def all_match(self) -> bool:
        """True when the initial arena and every operation agree: at least one operation was compared and
        none was left out (a comparison that left rows out, or compared nothing, is not "all match")."""
        return self.initial_match and self.n_ops > 0 and self.n_not_compared == 0 and self.n_matched == self.n_ops

    @property
    def verdict(self) -> str:
        """One line: ``"all 12 operations match"``, ``"11 of 12 operations match"``, with how many were
        not compared and why, or ``"nothing compared"``."""
        parts = []
        if not self.initial_match:
            parts.append("the initial arena differs")
        if self.n_ops == 0:
            parts.append("nothing compared")
        elif self.n_matched == self.n_ops and self.initial_match and not self.n_not_compared:
            parts.append(f"all {self.n_ops} operations match")
        else:
            parts.append(f"{self.n_matched} of {self.n_ops} compared operations match")
        if self.n_not_compared:
            reasons = sorted({r.not_compared for r in self.rows if not r.compared and r.not_compared})
            parts.append(f"{self.n_not_compared} of {len(self.rows)} not compared ({'; '.join(reasons)})")
        return ", ".join(parts)

    @property
    def mismatched(self) -> tuple[CompareRow, ...]:
        """The compared rows that do not match."""
        return tuple(r for r in self.rows if r.compared and not r.match)

    def to_dataframe(self) -> Any:
        """The rows as a pandas DataFrame (pandas is imported here, not at module import)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "op": r.op,
                    "free_slots": self.live.max_map_count - r.map_count_before,
                    "live_errno": errno_name(r.live_errno),
                    "model_errno": errno_name(r.model_errno),
                    "live_delta": r.live_delta,
                    "model_delta": r.model_delta,
                    "live_layout": _layout_str(r.live_layout),
                    "model_layout": _layout_str(r.model_layout),
                    "match": r.match,
                    "mismatches": ", ".join(r.mismatches),
                    "compared": r.compared,
                }
                for r in self.rows
            ],
            index=pd.RangeIndex(len(self.rows), name="index"),
        )

    def _header(self) -> str:
        return (
            f"live Linux {self.live.release}{where(self.live.target)} vs mmsim profile {self.profile}: "
            f"{self.verdict} (max_map_count={self.live.max_map_count}, arena {self.live.arena_pages} "
            f"pages at {self.live.base:#x})"
        )

    def __str__(self) -> str:
        lines = [self._header()]
        if not self.initial_match:
            lines.append(
                f"  initial arena differs: live {_layout_str(self.initial_live_layout)}; "
                f"model {_layout_str(self.initial_model_layout)}"
            )
        for r in self.rows:
            free_slots = self.live.max_map_count - r.map_count_before
            if not r.compared:
                lines.append(f"--   #{r.index} {r.op} [free slots {free_slots}]: live {errno_name(r.live_errno)} "
                             f"{r.live_delta:+d}, not compared: {r.not_compared}")
                continue
            mark = "ok  " if r.match else "DIFF"
            lines.append(
                f"{mark} #{r.index} {r.op} [free slots {free_slots}]: live {errno_name(r.live_errno)} "
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
            "<tr><th>#</th><th>op</th><th>free slots</th><th>live</th><th>model</th><th>live arena</th>"
            "<th>model arena</th><th>match</th></tr>"
        )
        body = []
        for r in self.rows:
            style = "" if r.match or not r.compared else ' style="background:#fdd"'
            free_slots = self.live.max_map_count - r.map_count_before
            model = f"{errno_name(r.model_errno)} " + (
                "-" if r.model_delta is None else f"{r.model_delta:+d}"
            )
            if r.model_error:
                model += f" ({r.model_error})"
            body.append(
                f"<tr{style}><td>{r.index}</td><td><code>{esc(r.op)}</code></td><td>{free_slots}</td>"
                f"<td>{errno_name(r.live_errno)} {r.live_delta:+d}</td><td>{esc(model)}</td>"
                f"<td><code>{esc(_layout_str(r.live_layout))}</code></td>"
                f"<td><code>{esc(_layout_str(r.model_layout))}</code></td>"
                f"<td>{'&#10003;' if r.match else esc(_verdict(r))}</td></tr>"
            )
        return f"<p>{esc(self._header())}</p><table>{head}{''.join(body)}</table>"


def _verdict(r: CompareRow) -> str:
    return f"not compared: {r.not_compared}" if not r.compared else "differs: " + ", ".join(r.mismatches)


def _model_layout(mm: Any, base: int, size: int) -> Layout:
    """The model's arena as /proc/self/maps would show it (no offset for private anonymous VMAs)."""
    return tuple(
        (v.start - base, v.end - base, v.perms, v.pgoff if v.file is not None else 0)
        for v in mm.vmas_in(base, base + size)
    )


@renamed_arguments(slack="free_slots", slack_before="free_slots_before")
def compare(
    ops: Sequence[Any],
    profile: str | None = None,
    *,
    free_slots: int | None = None,
    free_slots_before: Mapping[int, int] | None = None,
    arena_pages: int = 256,
    timeout: float = 30.0,
    target: str = "host",
    kernel: str | None = None,
    guest_max_map_count: int | None = None,
) -> Comparison:
    """Run ``ops`` live, replay them on ``mmsim.AddressSpace(kernel=profile)`` and compare them op by op.

    ``compare(ops, p, ...)`` is ``compare_run(run(ops, ...), p)``: see :func:`run` for ``target``
    (``"host"``, ``"qemu"``, ``"uml"``, ``"auto"``), ``kernel`` (the guest kernel: ``"5.10"``, ``"6.1"``,
    ``"6.12"``) and ``guest_max_map_count``, and :func:`compare_run` for what is compared; ``profile=None``
    takes the profile of the release that ran the operations. Raises what :func:`run` raises.
    """
    live = run(ops, arena_pages=arena_pages, free_slots=free_slots, free_slots_before=free_slots_before,
               timeout=timeout, target=target, kernel=kernel, guest_max_map_count=guest_max_map_count)
    return compare_run(live, profile)


def _coverage(release: str) -> Coverage | None:
    try:
        return release_coverage(release)
    except ValueError:  # outside the releases mmsim models
        return None


def compare_run(live: LiveRun, profile: str | None = None) -> Comparison:
    """Replay a finished live run on ``mmsim.AddressSpace(kernel=profile)`` and compare it op by op.

    ``profile=None`` takes the profile that models the live release (:func:`mmsim.kernel_for_release`; a
    release outside the modelled range is then a ValueError). The model mirrors the process the child
    reported: its ``max_map_count`` (the guest's for a user-mode Linux run) and its placement: top-down
    with ``mmap_base`` at the landing roof, or, when the child found the kernel placing bottom-up,
    ``layout="bottomup"`` with ``mmap_base`` at the landing floor (the first fit) and the reported
    ``task_size``. It gets the arena at the live base address (so private anonymous pgoffs agree) and,
    before every operation, exactly the live process's map_count (``mm.pad``).

    For each operation the errno, the arena's VMAs (offsets, perms, pgoff as /proc shows it) and the
    map_count delta are compared, and the returned address when the live one lies inside the arena or in
    the landing gap (a placement elsewhere is compared only through the delta and the arena). An exception
    other than ``MMError`` from the model is recorded in the row (``model_error``), not raised, and so is a
    broken invariant of the model after an operation (:meth:`mmsim.AddressSpace.check_invariants` around
    the arena).

    Coverage: when ``profile`` is the closest profile of the live release but does not model it exactly
    (:func:`mmsim.release_coverage`), the first call that a difference can change
    (:meth:`~mmsim.releases.Coverage.affects`: a predicate on the operation and its arguments, so that a
    missing MREMAP_DONTUNMAP leaves out DONTUNMAP calls only) and every row after it (the model's state
    may differ from then on) are not compared: their rows have ``compared=False``, the reason in
    ``not_compared``, and no model values; :attr:`Comparison.n_ops` and :attr:`Comparison.n_matched` count
    compared rows only, and :attr:`Comparison.all_match` is then false. A profile chosen explicitly for a
    release it is not the closest profile of is compared on every operation (differences are then the
    point). One live run can be compared with several profiles.
    """
    base, size = live.base, live.arena_size
    coverage = _coverage(live.release)
    row = GUEST_KERNELS.get(live.kernel) if live.kernel else None
    if row is not None and row.profile is not None:
        # A patched kernel (mmsim.live.build) is no release: its row names the profile that models it.
        coverage = Coverage(live.release, parse_release(live.release), row.profile)
    if profile is None:
        if coverage is None:
            raise ValueError(f"no mmsim profile models Linux {live.release}: pass a profile to compare anyway")
        profile = coverage.profile
    partial = coverage if coverage is not None and coverage.profile == profile and not coverage.exact else None
    if live.layout == "bottomup":
        # The child keeps a free landing gap right above a "floor" page and plugged every gap below it;
        # bottom-up placement (generic_get_unmapped_area()) lands at its bottom, and in the model at
        # mmap_base. TASK_SIZE is the one the child probed (user-mode Linux: 0x7fc0000000).
        if live.landing_floor is None:
            raise ValueError("a bottom-up live run must report its landing floor")
        mm = AddressSpace(kernel=profile, max_map_count=live.max_map_count, layout="bottomup",
                          task_size=live.task_size or TASK_SIZE, mmap_base=live.landing_floor)
    else:
        mm = AddressSpace(kernel=profile, max_map_count=live.max_map_count)
        if live.landing_roof is not None:
            # The child keeps a free gap under a "roof" page above the arena; top-down placement (a MAYMOVE
            # relocation, a hint-less mmap) lands right under the roof there, and in the model under mmap_base.
            mm.mmap_base = live.landing_roof
    mm.mmap(base, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED)
    mm.pad(live.initial_map_count - mm.map_count)
    initial_model = _model_layout(mm, base, size)
    initial_live = tuple(v.key for v in live.initial_vmas)
    rows = []
    stopped: str | None = None
    for r in live.results:
        if stopped is None and partial is not None and partial.affects(r.name, r.args):
            why = ", ".join(partial.affecting(r.name, r.args))
            stopped = (f"profile {profile} does not model Linux {live.release} exactly ({why}): "
                       f"op #{r.index} ({r.name}) and those after it are not compared")
        if stopped is not None:
            rows.append(CompareRow(
                index=r.index, op=format_op(r.name, r.args), live_errno=r.errno, model_errno=None,
                live_delta=r.delta, model_delta=None, live_layout=r.layout, model_layout=None, live_ret=r.ret,
                model_ret=None, live_ret_in_arena=r.ret_in_arena, map_count_before=r.map_count_before,
                compared=False, not_compared=stopped,
            ))
            continue
        model_errno: int | None = 0
        model_ret: Any = None
        model_error = None
        try:
            mm.pad(r.map_count_before - mm.map_count)
        except ValueError as e:  # the model has more VMAs of its own than the live process
            model_error = f"cannot match map_count {r.map_count_before}: {e}"
        before = mm.map_count
        try:
            model_ret = _ops.apply(mm, r.name, r.args, base)
        except MMError as e:
            model_errno = e.errno
        except Exception as e:  # a model bug must show up in the comparison, not abort it
            model_errno, model_error = None, f"{type(e).__name__}: {e}"
        try:
            mm.check_invariants(base - size, base + 2 * size)  # the arena and around it: O(k + log n)
        except AssertionError as e:  # the model's own invariants are part of every comparison
            model_error = (model_error + "; " if model_error else "") + f"model invariant broken: {e}"
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
        elif (r.ok and not r.ret_in_arena and r.ret is not None and model_abs != r.ret
              and _in_landing_gap(live, r.ret)):
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
    return Comparison(profile, live, tuple(rows), initial_live, initial_model, coverage)


def _in_landing_gap(live: LiveRun, addr: int) -> bool:
    """Whether a kernel-chosen address lies in the child's landing gap (where the model must agree)."""
    if live.layout == "bottomup":
        return live.landing is not None and live.landing[0] <= addr < live.landing[1]
    return live.landing_roof is not None and live.base + live.arena_size < addr < live.landing_roof
