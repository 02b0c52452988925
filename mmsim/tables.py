"""The tables the course shows (notebooks 01-10) and its checks compute with: what a learner reads and what
a check expects come from the same functions. (Moved from :mod:`mmsim.experiments`, which still exports them;
:mod:`mmsim.exercises` re-exports them too.)

Each is a small computation over the model: the VMAs of an address space (:func:`vma_table`), the fewest free
slots a call needs per kernel (:func:`min_free_slots`, :func:`slots_needed`), what the limit does to a call
(:func:`limits_table`), the path a call takes (:func:`path_table`), and what a failed call left unmapped
(:func:`unmapped_ranges`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .addrspace import AddressSpace
from .deprecation import renamed_arguments
from .experiments import sweep
from .outcome import Outcome, classify
from .profiles import KERNELS
from .scenarios import Scenario, get

__all__ = [
    "FREE_SLOTS_TRIED",
    "limits_table",
    "min_free_slots",
    "path_table",
    "run_small",
    "slots_needed",
    "unmapped_ranges",
    "vma_table",
]

#: Free slots the slot-counting helpers try by default: -1 (mmap's max + 1) up to the widgets' top.
FREE_SLOTS_TRIED = range(-1, 17)


def vma_table(mm: AddressSpace, base: int | None = None) -> pd.DataFrame:
    """The VMAs of ``mm`` as a DataFrame with the state /proc/PID/maps does not show (semantics §1.1).

    Columns: ``start`` and ``end`` in pages from ``base`` (default: the lowest VMA's start), ``pages``,
    ``perms`` (as in maps), ``VM_ACCOUNT`` (``accounted``, §2.7) and ``anon_vma`` (None = never
    write-faulted, §2.6).

    >>> from mmsim import PAGE_SIZE as P, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS
    >>> mm = AddressSpace("6.18")
    >>> a = mm.mmap(0, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> vma_table(mm)[["start", "end", "perms", "VM_ACCOUNT"]].values.tolist()
    [[0, 4, 'rw-p', True]]
    """
    from .constants import PAGE_SIZE

    vmas = mm.vmas()
    if base is None:
        base = vmas[0].start if vmas else 0
    return pd.DataFrame({
        "start": pd.Series([(v.start - base) // PAGE_SIZE for v in vmas], dtype="int64"),
        "end": pd.Series([(v.end - base) // PAGE_SIZE for v in vmas], dtype="int64"),
        "pages": pd.Series([v.pages for v in vmas], dtype="int64"),
        "perms": pd.Series([v.perms for v in vmas], dtype=object),
        "VM_ACCOUNT": pd.Series([v.accounted for v in vmas], dtype=bool),
        "anon_vma": pd.Series([v.anon_vma for v in vmas], dtype=object),  # keeps None and ints as they are
    })


@renamed_arguments(slacks="free_slots")
def min_free_slots(scenario: Scenario | str, kernel: str, free_slots: Iterable[int] = FREE_SLOTS_TRIED) -> int | None:
    """The fewest free slots (``max_map_count - map_count`` before the call) from which the scenario's call
    succeeds at every value in ``free_slots`` up to the largest; None if it fails at the largest.

    >>> min_free_slots("munmap-punch", "6.18"), min_free_slots("mmap-new", "6.18")   # semantics §4
    (1, 0)
    """
    df = sweep(scenario, kernel, free_slots=sorted(set(free_slots)), progress=False)
    best = None
    for s, outcome in sorted(zip(df["free_slots"], df["outcome"], strict=True), reverse=True):
        if outcome != "OK":
            break
        best = int(s)
    return best


@renamed_arguments(slacks="free_slots")
def slots_needed(scenarios: Iterable[Scenario | str], kernels: Iterable[str] = KERNELS,
                 free_slots: Iterable[int] = FREE_SLOTS_TRIED) -> pd.DataFrame:
    """:func:`min_free_slots` for every scenario (rows) and kernel (columns), as a DataFrame.

    Integer columns (pandas ``Int64``); ``<NA>`` where the call never succeeds at the free slots tried. (6.18 moves
    ``multi-vma``'s three pieces one by one, each punching its own hole in the destination: +1 per piece, and
    the third piece's move check needs 4 free slots at that point. Checked live on 6.18 and 6.1.)

    >>> slots_needed(["seed-W"], ["5.0", "5.1", "7.1", "ideal"]).loc["seed-W"].tolist()   # semantics §4
    [6, 6, 4, 3]
    >>> slots_needed(["multi-vma"], ["5.1", "6.18"]).loc["multi-vma"].tolist()   # 5.1: EFAULT at any count
    [<NA>, 7]
    """
    scs = [get(s) for s in scenarios]
    ks = list(kernels)
    sl = sorted(set(free_slots))
    data = {k: [min_free_slots(sc, k, sl) for sc in scs] for k in ks}
    out = pd.DataFrame(data, index=pd.Index([sc.name for sc in scs], name="scenario"), dtype="Int64")
    out.columns.name = "kernel"
    return out


@renamed_arguments(slacks="free_slots")
def limits_table(scenarios: Iterable[Scenario | str], kernel: str = "6.18",
                 free_slots: Iterable[int] = range(-1, 9)) -> pd.DataFrame:
    """One row per scenario: the call, what it does to map_count, and what the limit does to it.

    Columns: ``call``; ``Δ map_count`` when it succeeds; ``free_slots needed`` (:func:`min_free_slots`, or
    ``"any"`` when it succeeds even at the fewest free slots tried); ``with one slot fewer`` (the outcome class
    there) and ``refused by`` (the check that failed there).

    >>> row = limits_table(["mprotect-3way"]).loc["mprotect-3way"]   # semantics §4, §7.4
    >>> int(row["free slots needed"]), row["with one slot fewer"]
    (2, 'PARTIAL_FAIL')
    """
    scs = [get(s) for s in scenarios]
    sl = sorted(set(free_slots))
    df = sweep(scs, kernel, free_slots=sl, progress=False)
    rows = []
    for sc in scs:
        sub = df[df["scenario"] == sc.name].set_index("free_slots")
        need = min_free_slots(sc, kernel, sl)
        ok = sub[sub["outcome"] == "OK"]
        delta = int(ok["mc_after"].iloc[-1] - ok["mc_before"].iloc[-1]) if len(ok) else None
        if need is None or need == sl[0]:
            below, check = ("—", "—") if need is not None else ("never OK", "—")
        else:
            below, check = sub.loc[need - 1, "outcome"], sub.loc[need - 1, "check"]
        rows.append({
            "scenario": sc.name,
            "call": sc.call(compact=True),
            "Δ map_count": delta,
            "free slots needed": "any" if need == sl[0] else need,
            "with one slot fewer": below,
            "refused by": check,
        })
    return pd.DataFrame(rows).set_index("scenario")


@renamed_arguments(slack="free_slots")
def run_small(sc: Scenario | str, kernel: str, free_slots: int) -> Outcome:
    """Classify a scenario's call at ``free_slots`` free slots under a small max_map_count (fast; the outcome's
    class, errno and Δ map_count are those at any max_map_count, see :mod:`mmsim.experiments`).

    >>> o = run_small("seed-S", "6.18", 16); o.kind, o.mc_after - o.mc_before
    ('OK', 3)
    """
    s = get(sc)
    mm = s.build(kernel, 1 << 16)
    mm.max_map_count = mm.map_count + free_slots
    return classify(mm, s.op, *s.args)


@renamed_arguments(slack="free_slots")
def path_table(scenarios: Iterable[Scenario | str], kernel: str = "6.18", free_slots: int = 16) -> pd.DataFrame:
    """One row per scenario with plenty of free slots: the call, outcome, errno, Δ map_count and the
    depth-0 steps of its trace (the path the syscall took through the kernel, semantics §8).

    >>> path_table(["shrink-punch"], "6.18").loc["shrink-punch", "Δ map_count"]
    np.int64(1)
    """
    rows = []
    for s in scenarios:
        sc = get(s)
        o = run_small(sc, kernel, free_slots)
        rows.append({
            "scenario": sc.name,
            "call": sc.call(compact=True),
            "outcome": str(o.kind),
            "errno": o.errname or "",
            "Δ map_count": o.mc_after - o.mc_before,
            "steps": " → ".join(o.trace.steps()),
        })
    return pd.DataFrame(rows).set_index("scenario")


def unmapped_ranges(before: AddressSpace, after: AddressSpace, window: tuple[int, int]) -> list[tuple[int, int]]:
    """Page ranges of ``window`` (relative to its start) that are mapped in ``before`` and not in ``after``.

    >>> from mmsim import PAGE_SIZE as P, PROT_READ, MAP_PRIVATE, MAP_ANONYMOUS
    >>> b = AddressSpace("5.0"); x = b.mmap(0, 6 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> a = b.copy(); a.munmap(x + 2 * P, 2 * P)
    >>> unmapped_ranges(b, a, (x, x + 6 * P))
    [(2, 4)]
    """
    from .constants import PAGE_SIZE

    w0, w1 = window

    def pages(mm: AddressSpace) -> set[int]:
        out: set[int] = set()
        for v in mm.vmas_in(w0, w1):
            out.update(range((max(v.start, w0) - w0) // PAGE_SIZE, (min(v.end, w1) - w0) // PAGE_SIZE))
        return out

    lost = sorted(pages(before) - pages(after))
    ranges: list[tuple[int, int]] = []
    for p in lost:
        if ranges and ranges[-1][1] == p:
            ranges[-1] = (ranges[-1][0], p + 1)
        else:
            ranges.append((p, p + 1))
    return ranges
