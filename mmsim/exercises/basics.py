"""Exercise checks for notebooks 00-04, and the small tables those notebooks show.

Every ``check_...(answer)`` function computes the expected value with the model when it is called (nothing
is hard-coded), prints one line that starts with ✔ or ✘, and returns ``True`` or ``False``. It never raises,
whatever ``answer`` is: ``None`` (the notebooks' placeholder) is reported as "no answer yet".

The table builders (:func:`vma_table`, :func:`min_free_slots`, :func:`slots_needed`, :func:`limits_table`,
:func:`path_table`, :func:`unmapped_ranges`, :func:`course_outline`) are what the checks compute with; the
notebooks call them too, so that what a learner reads and what a check expects come from the same code.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..addrspace import AddressSpace
from ..constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from ..errors import MMError
from ..outcome import classify
from ..profiles import KERNELS
from ..scenarios import Scenario, get, scenario_from_ops

__all__ = [
    "MMAP_CEILING_MAX",
    # table builders
    "course_outline",
    "limits_table",
    "min_free_slots",
    "path_table",
    "slots_needed",
    "unmapped_ranges",
    "vma_table",
    # widget
    "mremap_explorer",
    # 00-start-here
    "check_profile_count",
    "check_punch_min_slots",
    # 01-vmas-and-map-count
    "check_split_count",
    "check_remerge_count",
    "check_hidden_state_count",
    # 02-limits-everywhere
    "check_mprotect_3way_slots",
    "check_mmap_ceiling",
    "check_partial_split_vmas",
    # 03-mremap-paths
    "check_grow_or_move",
    "check_dontunmap_delta",
    "check_fixed_delta",
    # 04-the-bug
    "check_bug_slots",
    "check_lost_pages",
    "check_fixed_min_slots",
]

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

#: Free slots the slot-counting helpers try by default: -1 (mmap's max + 1) up to the widgets' top.
SLACKS = range(-1, 17)


# ---- reporting -----------------------------------------------------------------------------------------


def _report(ok: bool, good: str, bad: str) -> bool:
    print(("✔ " + good) if ok else ("✘ " + bad))
    return bool(ok)


def _no_answer() -> bool:
    return _report(False, "", "No answer yet: replace None with your answer and run the cell again.")


def _as_int(answer: Any) -> int | None:
    """``answer`` as an int if it is one (numpy ints, integral floats and digit strings count), else None."""
    if isinstance(answer, bool):
        return None
    try:
        return operator.index(answer)
    except TypeError:
        pass
    if isinstance(answer, float) and answer.is_integer():
        return int(answer)
    if isinstance(answer, str):
        try:
            return int(answer.strip())
        except ValueError:
            return None
    return None


def _check_int(answer: Any, expected: int, good: str, hint: str) -> bool:
    if answer is None:
        return _no_answer()
    got = _as_int(answer)
    if got is None:
        return _report(False, "", f"Expected a whole number, got {answer!r}. {hint}")
    if got == expected:
        return _report(True, good, "")
    return _report(False, "", f"{got} is not it. {hint}")


# ---- table builders ------------------------------------------------------------------------------------


def vma_table(mm: AddressSpace, base: int | None = None):
    """The VMAs of ``mm`` as a DataFrame with the state /proc/PID/maps does not show.

    Columns: ``start`` and ``end`` in pages from ``base`` (default: the lowest VMA's start), ``pages``,
    ``perms`` (as in maps), ``VM_ACCOUNT`` (``accounted``) and ``anon_vma`` (None = never write-faulted).
    """
    import pandas as pd

    vmas = mm.vmas()
    if base is None:
        base = vmas[0].start if vmas else 0
    return pd.DataFrame({
        "start": pd.Series([(v.start - base) // P for v in vmas], dtype="int64"),
        "end": pd.Series([(v.end - base) // P for v in vmas], dtype="int64"),
        "pages": pd.Series([v.pages for v in vmas], dtype="int64"),
        "perms": pd.Series([v.perms for v in vmas], dtype=object),
        "VM_ACCOUNT": pd.Series([v.accounted for v in vmas], dtype=bool),
        "anon_vma": pd.Series([v.anon_vma for v in vmas], dtype=object),  # keeps None and ints as they are
    })


def min_free_slots(scenario: Scenario | str, kernel: str, slacks: Iterable[int] = SLACKS) -> int | None:
    """The fewest free slots (``max_map_count - map_count`` before the call) from which the scenario's call
    succeeds at every slack in ``slacks`` up to the largest; None if it fails at the largest."""
    from ..experiments import sweep

    df = sweep(scenario, kernel, slacks=sorted(set(slacks)), progress=False)
    best = None
    for s, outcome in sorted(zip(df["slack"], df["outcome"], strict=True), reverse=True):
        if outcome != "OK":
            break
        best = int(s)
    return best


def slots_needed(scenarios: Iterable[Scenario | str], kernels: Iterable[str] = KERNELS,
                 slacks: Iterable[int] = SLACKS):
    """:func:`min_free_slots` for every scenario (rows) and kernel (columns), as a DataFrame."""
    import pandas as pd

    scs = [get(s) for s in scenarios]
    ks = list(kernels)
    sl = sorted(set(slacks))
    data = {k: [min_free_slots(sc, k, sl) for sc in scs] for k in ks}
    out = pd.DataFrame(data, index=pd.Index([sc.name for sc in scs], name="scenario"))
    out.columns.name = "kernel"
    return out


def limits_table(scenarios: Iterable[Scenario | str], kernel: str = "6.18", slacks: Iterable[int] = range(-1, 9)):
    """One row per scenario: the call, what it does to map_count, and what the limit does to it.

    Columns: ``call``; ``Δ map_count`` when it succeeds; ``free slots needed`` (:func:`min_free_slots`, or
    ``"any"`` when it succeeds even at the lowest slack tried); ``with one slot fewer`` (the outcome class
    there) and ``refused by`` (the check that failed there).
    """
    import pandas as pd

    from ..experiments import sweep

    scs = [get(s) for s in scenarios]
    sl = sorted(set(slacks))
    df = sweep(scs, kernel, slacks=sl, progress=False)
    rows = []
    for sc in scs:
        sub = df[df["scenario"] == sc.name].set_index("slack")
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


def _delta_run(sc: Scenario, kernel: str, slack: int):
    """Classify the scenario's call at ``slack`` free slots under a small max_map_count (fast)."""
    mm = sc.build(kernel, 1 << 16)
    mm.max_map_count = mm.map_count + slack
    return classify(mm, sc.op, *sc.args)


def path_table(scenarios: Iterable[Scenario | str], kernel: str = "6.18", slack: int = 16):
    """One row per scenario with plenty of free slots: the call, outcome, errno, Δ map_count and the
    depth-0 steps of its trace (the path the syscall took through the kernel)."""
    import pandas as pd

    rows = []
    for s in scenarios:
        sc = get(s)
        o = _delta_run(sc, kernel, slack)
        rows.append({
            "scenario": sc.name,
            "call": sc.call(compact=True),
            "outcome": o.kind,
            "errno": o.errname or "",
            "Δ map_count": o.mc_after - o.mc_before,
            "steps": " → ".join(o.trace.steps()),
        })
    return pd.DataFrame(rows).set_index("scenario")


def unmapped_ranges(before: AddressSpace, after: AddressSpace, window: tuple[int, int]) -> list[tuple[int, int]]:
    """Page ranges of ``window`` (relative to its start) that are mapped in ``before`` and not in ``after``."""
    w0, w1 = window

    def pages(mm: AddressSpace) -> set[int]:
        out: set[int] = set()
        for v in mm.vmas_in(w0, w1):
            out.update(range((max(v.start, w0) - w0) // P, (min(v.end, w1) - w0) // P))
        return out

    lost = sorted(pages(before) - pages(after))
    ranges: list[tuple[int, int]] = []
    for p in lost:
        if ranges and ranges[-1][1] == p:
            ranges[-1] = (ranges[-1][0], p + 1)
        else:
            ranges.append((p, p + 1))
    return ranges


def course_outline(directory: str | Path = ".") -> list[tuple[str, str]]:
    """``(file name, title)`` of every numbered notebook in ``directory``, in order; the title is the first
    markdown heading. Prints one line per notebook."""
    import json

    out = []
    for path in sorted(Path(directory).glob("[0-9]*.ipynb")):
        title = ""
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError) as e:  # an unreadable notebook is listed, not fatal
            cells, title = [], f"(unreadable: {type(e).__name__})"
        for cell in cells:
            if cell.get("cell_type") == "markdown":
                src = cell.get("source", "")
                src = "".join(src) if isinstance(src, list) else src
                line = next((ln for ln in src.splitlines() if ln.startswith("#")), "")
                if line:
                    title = line.lstrip("#").strip()
                    break
        out.append((path.name, title))
        print(f"{path.name:<34} {title}")
    return out


# ---- an mremap explorer over flags and sizes ---------------------------------------------------------------

#: The explorer's layout, in pages from its base: a faulted rw private VMA "O", free pages, a read-only
#: VMA "D", and a shared VMA "S" (the only kind whose old_size may be 0).
_EXPLORER_VMAS = {"O": (0, 8), "D": (12, 10), "S": (24, 4)}
_EXPLORER_PAGES = 44


def _explorer_scenario(source: str, offset: int, old_size: int, new_size: int, maymove: bool, fixed: bool,
                       dontunmap: bool, dest: int) -> Scenario:
    o, d, s = (_EXPLORER_VMAS[k] for k in ("O", "D", "S"))
    setup = [
        ("mmap", {"addr": o[0] * P, "length": o[1] * P, "prot": RW, "flags": ANON | MAP_FIXED}),
        ("touch", {"addr": o[0] * P, "length": o[1] * P}),
        ("mmap", {"addr": d[0] * P, "length": d[1] * P, "prot": PROT_READ, "flags": ANON | MAP_FIXED}),
        ("mmap", {"addr": s[0] * P, "length": s[1] * P, "prot": RW,
                  "flags": MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED}),
    ]
    flags = (MREMAP_MAYMOVE if maymove else 0) | (MREMAP_FIXED if fixed else 0) | (
        MREMAP_DONTUNMAP if dontunmap else 0)
    kw = {"old_address": (_EXPLORER_VMAS[source][0] + offset) * P, "old_size": old_size * P,
          "new_size": new_size * P, "flags": flags,
          "new_address": dest * P if fixed or dontunmap else None}
    return scenario_from_ops("mremap-explorer", "an mremap of your choice", "random", setup, "mremap", kw)


def mremap_explorer(kernel: str = "6.18", *, slack: int = 16):
    """An explorer (:class:`mmsim.widgets.Explorer`) over mremap's flags and sizes on a fixed layout.

    The layout holds a faulted 8-page rw private VMA ``O`` at page 0, free pages 8-11, a 10-page read-only
    VMA ``D`` at page 12 and a 4-page shared VMA ``S`` at page 24. Controls: ``kernel``, ``source`` (O or S),
    ``offset`` (pages into the source), ``old_size`` and ``new_size`` (pages), the ``MAYMOVE``/``FIXED``/
    ``DONTUNMAP`` checkboxes and ``dest`` (the page of ``new_address``, used with FIXED or DONTUNMAP). The
    figure shows the layout before and after the call; the text above it the call, its outcome, the change
    of map_count and the steps it took. ``slack`` free slots are left before the call.

    ``explorer.last_run["outcome"]`` is the :class:`mmsim.Outcome` of the latest redraw (and
    ``last_run["sc"]`` its scenario), so code can read what the figure shows.
    """
    import html

    import ipywidgets as W

    from ..experiments import Runner
    from ..plots import plot_layout
    from ..widgets import Explorer

    style = {"description_width": "initial"}

    def slider(desc: str, value: int, lo: int, hi: int) -> W.IntSlider:
        return W.IntSlider(value=value, min=lo, max=hi, description=desc, continuous_update=False, style=style)

    controls = {
        "kernel": W.ToggleButtons(options=list(KERNELS), value=kernel, description="kernel", style=style),
        "source": W.Dropdown(options=[("O: rw private, faulted", "O"), ("S: rw shared", "S")], value="O",
                             description="source VMA", style=style),
        "offset": slider("offset (pages)", 2, 0, 7),
        "old_size": slider("old size (pages)", 2, 0, 8),
        "new_size": slider("new size (pages)", 4, 1, 12),
        "maymove": W.Checkbox(value=True, description="MREMAP_MAYMOVE", indent=False),
        "fixed": W.Checkbox(value=False, description="MREMAP_FIXED", indent=False),
        "dontunmap": W.Checkbox(value=False, description="MREMAP_DONTUNMAP", indent=False),
        "dest": slider("new address (page)", 30, 0, 31),
    }
    runner = Runner()
    last: dict[str, Any] = {}

    def render(kernel: str, source: str, offset: int, old_size: int, new_size: int, maymove: bool, fixed: bool,
               dontunmap: bool, dest: int):
        sc = _explorer_scenario(source, offset, old_size, new_size, maymove, fixed, dontunmap, dest)
        outcome, before, after = runner.before_after(sc, kernel, slack)
        last.update(sc=sc, outcome=outcome)
        old, new = sc.ranges()
        return plot_layout(before, after, old_range=old, new_range=new,
                           window=(sc.base, sc.base + _EXPLORER_PAGES * P), outcome=outcome,
                           title=f"kernel {kernel}: {sc.call(compact=True)}")

    def describe(**_: Any) -> str:
        sc, o = last.get("sc"), last.get("outcome")
        if sc is None:
            return ""
        what = o.kind + (f" ({o.errname} at {o.check})" if o.errno else "")
        steps = " → ".join(o.trace.steps())
        return (f"<code>{html.escape(sc.call())}</code><br><b>{html.escape(what)}</b>, "
                f"map_count {o.mc_after - o.mc_before:+d}<br>steps: {html.escape(steps)}")

    ex = Explorer(controls, render, describe=describe,
                  rows=[["kernel"], ["source", "offset", "old_size", "new_size"],
                        ["maymove", "fixed", "dontunmap", "dest"]], runner=runner)
    ex.last_run = last  # {"sc": the Scenario, "outcome": its Outcome} of the latest redraw
    return ex


# ---- 00-start-here -------------------------------------------------------------------------------------


def check_profile_count(answer: Any) -> bool:
    """00, exercise 1: how many kernel profiles does mmsim model (``mmsim.KERNELS``)?"""
    return _check_int(answer, len(KERNELS), f"Right: {len(KERNELS)} profiles, {', '.join(KERNELS)}.",
                      "Look at mmsim.KERNELS: how long is it?")


def check_punch_min_slots(answer: Any) -> bool:
    """00, exercise 2: the fewest free slots at which ``munmap-punch`` succeeds on kernel 6.18."""
    need = min_free_slots("munmap-punch", "6.18")
    return _check_int(answer, need, f"Right: punching a hole needs {need} free slot(s) on 6.18.",
                      "Move the free-slots slider down one step at a time (scenario munmap-punch, kernel 6.18) "
                      "and note the last value at which the title says OK.")


# ---- 01-vmas-and-map-count -----------------------------------------------------------------------------


def _split_demo() -> AddressSpace:
    """6.18: a 10-page rw private anonymous mapping with pages 3-5 made read-only."""
    mm = AddressSpace("6.18")
    a = mm.mmap(0, 10 * P, RW, ANON)
    mm.mprotect(a + 3 * P, 3 * P, PROT_READ)
    return mm


def check_split_count(answer: Any) -> bool:
    """01, exercise 1: map 10 rw pages, make pages 3, 4 and 5 read-only: how many VMAs (map_count)?"""
    n = _split_demo().map_count
    return _check_int(answer, n, f"Right: {n} VMAs. The read-only pages cannot share a VMA with the rw ones.",
                      "Draw the 10 pages and mark where the protection changes: each change is a VMA boundary.")


def check_remerge_count(answer: Any) -> bool:
    """01, exercise 2: then make pages 3-5 rw again (nothing was ever written): how many VMAs?"""
    mm = _split_demo()
    a = mm.vmas()[0].start
    mm.mprotect(a + 3 * P, 3 * P, RW)
    n = mm.map_count
    return _check_int(answer, n, f"Right: {n}. mprotect merges the range with both neighbours again.",
                      "After the second mprotect, do the three pieces differ in anything the merge compares?")


def check_hidden_state_count(answer: Any) -> bool:
    """01, exercise 3: on kernel 5.0, a 10-page read-only mapping; pages 2-4 to rw and back to read-only,
    never written. How many VMAs?"""
    mm = AddressSpace("5.0")
    a = mm.mmap(0, 10 * P, PROT_READ, ANON)
    mm.mprotect(a + 2 * P, 3 * P, RW)
    mm.mprotect(a + 2 * P, 3 * P, PROT_READ)
    n = mm.map_count
    return _check_int(answer, n, f"Right: {n}. On 5.0 the middle pages keep VM_ACCOUNT from their rw moment, "
                                 "so it cannot merge, although all three VMAs print as r--p.",
                      "Kernel 5.0 predates v6.7: what happens to VM_ACCOUNT when the page goes back to read-only?")


# ---- 02-limits-everywhere ------------------------------------------------------------------------------


def check_mprotect_3way_slots(answer: Any) -> bool:
    """02, exercise 1: the fewest free slots at which ``mprotect-3way`` succeeds on kernel 6.18."""
    need = min_free_slots("mprotect-3way", "6.18")
    return _check_int(answer, need, f"Right: {need}. Each of the two splits checks map_count >= max on its own.",
                      "Two split_vma() calls each need map_count < max at the moment they run.")


#: vm.max_map_count of :func:`check_mmap_ceiling`'s experiment.
MMAP_CEILING_MAX = 10


def _mmap_ceiling(max_map_count: int = MMAP_CEILING_MAX) -> int:
    mm = AddressSpace("6.18", max_map_count)
    i = 0
    while i <= 4 * max_map_count + 8:
        try:
            mm.mmap(0, P, PROT_READ if i % 2 else RW, ANON)  # alternating prot: neighbours never merge
        except MMError:
            break
        i += 1
    return mm.map_count


def check_mmap_ceiling(answer: Any) -> bool:
    """02, exercise 2: with ``max_map_count = 10``, mmap one page at a time (neighbours never merge) until
    mmap fails: what is map_count then?"""
    n = _mmap_ceiling()
    return _check_int(answer, n, f"Right: {n}, one more than max_map_count = {MMAP_CEILING_MAX}: "
                                 "do_mmap() refuses only when map_count > max.",
                      "Read mmap's check in the trace: is it `>` or `>=`?")


def check_partial_split_vmas(answer: Any) -> bool:
    """02, exercise 3: ``mprotect-3way`` at 1 free slot on 6.18 fails with ENOMEM. How many VMAs cover the
    scenario's 10-page mapping afterwards?"""
    sc = get("mprotect-3way")
    mm = sc.setup("6.18", max_map_count=64, slack=1)
    try:
        sc.apply(mm)
    except MMError:
        pass
    n = len(mm.vmas_in(*sc.window))
    return _check_int(answer, n, f"Right: {n}. The first split stayed, the second was refused: a partial "
                                 "failure.", "Look at the 'after' panel of the layout at 1 free slot.")


# ---- 03-mremap-paths -----------------------------------------------------------------------------------


def _explorer_delta(kernel: str = "6.18", *, source: str = "O", offset: int = 2, old_size: int = 2,
                    new_size: int = 2, maymove: bool = True, fixed: bool = False, dontunmap: bool = False,
                    dest: int = 30) -> int:
    """map_count change of one :func:`mremap_explorer` setting (plenty of free slots)."""
    o = _delta_run(_explorer_scenario(source, offset, old_size, new_size, maymove, fixed, dontunmap, dest),
                   kernel, 16)
    return o.mc_after - o.mc_before


def _int_pair(answer: Any) -> tuple[int, int] | None:
    try:
        got = tuple(_as_int(x) for x in answer)
    except TypeError:
        return None
    if isinstance(answer, str) or len(got) != 2 or None in got:
        return None
    return got  # type: ignore[return-value]


def check_grow_or_move(answer: Any) -> bool:
    """03, exercise 1: in the mremap explorer on 6.18, source O, offset 6, old size 2, MREMAP_MAYMOVE only:
    the change of map_count with new size 5, and with new size 7. Answer a pair ``(delta_5, delta_7)``."""
    want = (_explorer_delta(offset=6, old_size=2, new_size=5), _explorer_delta(offset=6, old_size=2, new_size=7))
    if answer is None:
        return _no_answer()
    got = _int_pair(answer)
    if got is None:
        return _report(False, "", f"Expected a pair of whole numbers like (0, 0), got {answer!r}.")
    if got == want:
        return _report(True, f"Right: {want[0]:+d} and {want[1]:+d}. The smaller growth fits in the free pages "
                             "after O, so O is extended in place; the larger does not, so the range moves.", "")
    return _report(False, "", f"{got} is not it. How many free pages follow O, and does the grown range fit there?")


def check_dontunmap_delta(answer: Any) -> bool:
    """03, exercise 2: in the mremap explorer on 6.18, source O, offset 2, old and new size 2,
    MREMAP_MAYMOVE|MREMAP_DONTUNMAP, new address page 30: the change of map_count."""
    d = _explorer_delta(offset=2, old_size=2, new_size=2, dontunmap=True, dest=30)
    return _check_int(answer, d, f"Right: {d:+d}. The copy is a new VMA, and with DONTUNMAP the old VMA is "
                                 "neither unmapped nor split.",
                      "With DONTUNMAP nothing is unmapped at the source: does O get split?")


def check_fixed_delta(answer: Any) -> bool:
    """03, exercise 3: in the mremap explorer on 6.18, source O, offset 2, old and new size 2,
    MREMAP_MAYMOVE|MREMAP_FIXED, new address page 14 (inside D): the change of map_count."""
    d = _explorer_delta(offset=2, old_size=2, new_size=2, fixed=True, dest=14)
    return _check_int(answer, d, f"Right: {d:+d}: a hole punched into D, the new VMA, and a hole punched into O.",
                      "Add up the destination unmap, copy_vma and the source unmap, one step at a time.")


# ---- 04-the-bug ----------------------------------------------------------------------------------------


def _bug_slots(slacks: Iterable[int] = range(0, 17)) -> set[int]:
    from ..experiments import sweep

    df = sweep("seed-W", "5.0", slacks=sorted(set(slacks)), progress=False)
    return {int(s) for s in df.loc[df["outcome"] == "PARTIAL_FAIL", "slack"]}


def check_bug_slots(answer: Any) -> bool:
    """04, exercise 1: at which free-slot counts (0 to 16) does seed-W leave a half-changed address space on
    kernel 5.0? Answer a collection of ints, e.g. ``[2, 3]`` or ``range(2, 4)``."""
    want = _bug_slots()
    if answer is None:
        return _no_answer()
    try:
        got = {_as_int(x) for x in answer}
    except TypeError:
        got = None
    if got is None or None in got or isinstance(answer, str):
        return _report(False, "", f"Expected a collection of whole numbers such as [2, 3], got {answer!r}.")
    if got == want:
        return _report(True, f"Right: {sorted(want)} — PARTIAL_FAIL from {min(want)} to {max(want)} free slots.",
                       "")
    missing, extra = sorted(want - got), sorted(got - want)
    hint = []
    if missing:
        hint.append(f"{len(missing)} value(s) missing")
    if extra:
        hint.append(f"{len(extra)} value(s) too many")
    return _report(False, "", f"Not quite ({', '.join(hint)}). Slide the free slots with kernel 5.0 and look for "
                              "PARTIAL_FAIL in the title.")


def _lost_pages(slack: int = 1) -> int:
    sc = get("seed-W")
    before = sc.setup("5.0", max_map_count=64, slack=slack)
    after = before.copy()
    try:
        sc.apply(after)
    except MMError:
        pass
    return sum(b - a for a, b in unmapped_ranges(before, after, sc.window))


def check_lost_pages(answer: Any) -> bool:
    """04, exercise 2: seed-W on 5.0 at 1 free slot fails with ENOMEM. How many pages that were mapped
    before the call are unmapped after it?"""
    n = _lost_pages()
    return _check_int(answer, n, f"Right: {n} pages. The destination was unmapped; then the tail's hole "
                                 "punch was refused, so the tail survived.",
                      "Which step fails at 1 free slot? Only the unmaps before it took pages away.")


def check_fixed_min_slots(answer: Any) -> bool:
    """04, exercise 3: the fewest free slots at which kernel 5.1 completes seed-W."""
    need = min_free_slots("seed-W", "5.1")
    return _check_int(answer, need, f"Right: {need}. Below that, 5.1's early check refuses at once — cleanly.",
                      "Switch the trace explorer to kernel 5.1 and raise the free slots until it says OK.")
