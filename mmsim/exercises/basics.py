"""Exercise checks for notebooks 00-04.

Every ``check_...(answer)`` computes its expected value with the model when it is called (nothing is stored)
and returns a :class:`~mmsim.exercises.feedback.Feedback`: true iff the answer is right, shown as one ✔/✘
line with a hint chosen for the typical wrong answers of that exercise. It never raises.

The tables the notebooks show (:func:`vma_table`, :func:`min_free_slots`, :func:`slots_needed`,
:func:`limits_table`, :func:`path_table`, :func:`unmapped_ranges`) live in :mod:`mmsim.experiments`; they are
re-exported here so that ``from mmsim.exercises import vma_table`` keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..addrspace import AddressSpace
from ..constants import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE
from ..errors import MMError
from ..profiles import KERNELS, PROFILES
from ..scenarios import get
from ..tables import (
    FREE_SLOTS_TRIED,
    limits_table,
    min_free_slots,
    path_table,
    run_small,
    slots_needed,
    unmapped_ranges,
    vma_table,
)
from .explorer import explorer_scenario, mremap_explorer
from .feedback import Feedback, Hint, as_int, as_int_pair, as_int_set, judge

__all__ = [
    "FREE_SLOTS_TRIED",
    "MMAP_CEILING_MAX",
    # tables (from mmsim.experiments) and the course outline
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


WHOLE = "a whole number"


def _is(value: int) -> Any:
    """A hint condition: the answer is exactly ``value``."""
    return lambda got, want: got == value


def _off(delta: int) -> Any:
    """A hint condition: the answer is the expected value plus ``delta``."""
    return lambda got, want: got == want + delta


# ---- the course outline (notebook 00) ---------------------------------------------------------------------


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


# ---- 00-start-here -------------------------------------------------------------------------------------


def check_profile_count(answer: Any) -> Feedback:
    """00, exercise 1: how many kernel profiles does mmsim model (``mmsim.KERNELS``)?"""
    n = len(KERNELS)
    real = sum(1 for p in PROFILES.values() if p.releases)
    return judge(answer, n, as_int, WHOLE, f"Right: {n} profiles, {', '.join(KERNELS)}.", hints=[
        Hint(_is(real), "only_real", f"that counts the real kernels only; "
             f"{', '.join(k for k in KERNELS if not PROFILES[k].releases)} are profiles too (hypothetical kernels)."),
        Hint(_off(-1), "one_missing", "one short: count every line the list above printed, or len(mmsim.KERNELS)."),
    ], fallback="Count the lines of the list above, or ask Python: len(mmsim.KERNELS).")


def check_punch_min_slots(answer: Any) -> Feedback:
    """00, exercise 2: the fewest free slots at which ``munmap-punch`` succeeds on kernel 6.18."""
    need = min_free_slots("munmap-punch", "6.18")
    assert need is not None
    return judge(answer, need, as_int, WHOLE, f"Right: punching a hole needs {need} free slot on 6.18 "
                 "(semantics §4): the check is map_count >= max, and the hole adds one VMA.", hints=[
        Hint(lambda g, w: g == -1 and w >= 0, "mmap_rule", "a process can only reach −1 free slots through "
             "mmap's lenient check; a hole punch is refused long before that."),
        Hint(_off(-1), "ge_not_gt", "at that count the punch check `map_count >= max` fails: the title says "
             "CLEAN_FAIL. The hole adds a VMA, so it needs a free slot for it."),
        Hint(lambda g, w: g > w, "too_many", "the call still succeeds with fewer: move the slider down until the "
             "title stops saying OK, and take the last value that said OK."),
    ], fallback="Move the free-slots slider one step at a time and watch the title.")


# ---- 01-vmas-and-map-count -----------------------------------------------------------------------------


def _split_demo(kernel: str = "6.18") -> AddressSpace:
    """A 10-page rw private anonymous mapping with pages 3-5 made read-only."""
    mm = AddressSpace(kernel)
    a = mm.mmap(0, 10 * P, RW, ANON)
    mm.mprotect(a + 3 * P, 3 * P, PROT_READ)
    return mm


def check_split_count(answer: Any) -> Feedback:
    """01, exercise 1: map 10 rw pages, make pages 3, 4 and 5 read-only: how many VMAs (map_count)?"""
    n = _split_demo().map_count
    return judge(answer, n, as_int, WHOLE, f"Right: {n} VMAs (pages 0–2 rw, 3–5 r, 6–9 rw). A VMA has one "
                 "protection, so the range is split off at both ends.", hints=[
        Hint(_is(1), "no_split", "one VMA cannot hold two protections: mprotect splits the VMA around the range."),
        Hint(_off(-1), "one_split", "the range lies in the middle of the VMA, so it is split at both ends of it."),
        Hint(lambda g, w: g > w, "per_page", "the three read-only pages are one range, so they stay one VMA: "
             "VMAs are ranges of pages, not pages."),
    ], fallback="Draw the 10 pages and mark where the protection changes: each change is a VMA boundary.")


def check_remerge_count(answer: Any) -> Feedback:
    """01, exercise 2: then make pages 3-5 rw again (nothing was ever written): how many VMAs?"""
    mm = _split_demo()
    a = mm.vmas()[0].start
    mm.mprotect(a + 3 * P, 3 * P, RW)
    n = mm.map_count
    split = _split_demo().map_count
    return judge(answer, n, as_int, WHOLE, f"Right: {n}. mprotect tries to merge before it splits, and now the "
                 "range agrees with both neighbours in everything the merge compares.", hints=[
        Hint(_is(split), "no_merge", "the VMAs are not left split: mprotect merges the range with compatible "
             "neighbours (semantics §2.4)."),
        Hint(lambda g, w: w < g < split, "half_merge", "the range touches both neighbours, and it merges with both "
             "at once (prev + range + next)."),
    ], fallback="After the second mprotect, do the three pieces differ in anything the merge compares?")


def _hidden_state(kernel: str) -> int:
    mm = AddressSpace(kernel)
    a = mm.mmap(0, 10 * P, PROT_READ, ANON)
    mm.mprotect(a + 2 * P, 3 * P, RW)
    mm.mprotect(a + 2 * P, 3 * P, PROT_READ)
    return mm.map_count


def check_hidden_state_count(answer: Any) -> Feedback:
    """01, exercise 3: on kernel 5.0, a 10-page read-only mapping; pages 2-4 to rw and back to read-only,
    never written. How many VMAs?"""
    n = _hidden_state("5.0")
    modern = _hidden_state("6.18")
    return judge(answer, n, as_int, WHOLE, f"Right: {n}. On 5.0 the middle pages keep VM_ACCOUNT from their rw "
                 "moment, so they cannot merge back, although all three VMAs print as r--p (semantics §2.7).", hints=[
        Hint(lambda g, w: g == modern and modern != w, "like_modern", "that is 6.18's answer: dropping VM_ACCOUNT "
             "of never-written pages on mprotect to read-only came with Linux 6.7; 5.0 keeps it."),
    ], fallback="Kernel 5.0 predates v6.7: what happens to VM_ACCOUNT when the pages go back to read-only?")


# ---- 02-limits-everywhere ------------------------------------------------------------------------------


def check_mprotect_3way_slots(answer: Any) -> Feedback:
    """02, exercise 1: the fewest free slots at which ``mprotect-3way`` succeeds on kernel 6.18."""
    need = min_free_slots("mprotect-3way", "6.18")
    assert need is not None
    return judge(answer, need, as_int, WHOLE, f"Right: {need}. Each of the two splits checks map_count >= max "
                 "on its own, and the first split uses a slot before the second checks (semantics §7.4).", hints=[
        Hint(_off(-1), "partial", "with that many the first split passes and takes the last slot, then the second "
             "split's check fails: the call fails half-way (PARTIAL_FAIL), it does not succeed."),
        Hint(lambda g, w: g < w - 1, "too_few", "too few: even the first split's check fails there."),
        Hint(lambda g, w: g > w, "too_many", "the call also succeeds with fewer: each split needs only "
             "map_count < max when it runs."),
    ])


#: vm.max_map_count of :func:`check_mmap_ceiling`'s experiment.
MMAP_CEILING_MAX = 10


def _mmap_ceiling(max_map_count: int | None = None) -> int:
    if max_map_count is None:
        max_map_count = MMAP_CEILING_MAX
    mm = AddressSpace("6.18", max_map_count)
    i = 0
    while i <= 4 * max_map_count + 8:
        try:
            mm.mmap(0, P, PROT_READ if i % 2 else RW, ANON)  # alternating prot: neighbours never merge
        except MMError:
            break
        i += 1
    return mm.map_count


def check_mmap_ceiling(answer: Any) -> Feedback:
    """02, exercise 2: with ``max_map_count = 10``, mmap one page at a time (neighbours never merge) until
    mmap fails: what is map_count then?"""
    n = _mmap_ceiling()
    mx = MMAP_CEILING_MAX
    return judge(answer, n, as_int, WHOLE, f"Right: {n}, one more than max_map_count = {mx}: do_mmap() refuses "
                 "only when map_count > max (semantics §3.1).", hints=[
        Hint(lambda g, w: g == mx, "gt_vs_ge", f"`>` vs `>=`: do_mmap() refuses only when map_count > max, so the "
             f"mmap made at map_count == {mx} still succeeds."),
        Hint(lambda g, w: g > w, "too_many", f"the mmap made at map_count = {mx + 1} is refused: map_count > max."),
    ], fallback="Read mmap's check in the trace: is it `>` or `>=`?")


def _partial_split_vmas() -> int:
    sc = get("mprotect-3way")
    mm = sc.setup("6.18", max_map_count=64, free_slots=1)
    try:
        sc.apply(mm)
    except MMError:
        pass
    assert sc.window is not None
    return len(mm.vmas_in(*sc.window))


def check_partial_split_vmas(answer: Any) -> Feedback:
    """02, exercise 3: ``mprotect-3way`` at 1 free slot on 6.18 fails with ENOMEM. How many VMAs cover the
    scenario's 10-page mapping afterwards?"""
    n = _partial_split_vmas()
    ok = run_small("mprotect-3way", "6.18", 8)
    done = 1 + ok.mc_after - ok.mc_before
    return judge(answer, n, as_int, WHOLE, f"Right: {n}. The first split stayed, the second was refused: a "
                 "partial failure (semantics §5 row 6).", hints=[
        Hint(_is(1), "undone", "the call failed, but the first split is not undone."),
        Hint(lambda g, w: g == done, "as_success", f"{done} is what the call leaves when it succeeds; here the "
             "second split was refused."),
    ], fallback="Look at the 'after' panel of the layout at 1 free slot.")


# ---- 03-mremap-paths -----------------------------------------------------------------------------------


def _explorer_delta(kernel: str = "6.18", *, source: str = "O", offset: int = 2, old_size: int = 2,
                    new_size: int = 2, maymove: bool = True, fixed: bool = False, dontunmap: bool = False,
                    dest: int = 30) -> int:
    """map_count change of one :func:`mremap_explorer` setting (plenty of free slots)."""
    o = run_small(explorer_scenario(source, offset, old_size, new_size, maymove, fixed, dontunmap, dest), kernel, 16)
    return o.mc_after - o.mc_before


def check_grow_or_move(answer: Any) -> Feedback:
    """03, exercise 1: in the mremap explorer on 6.18, source O, offset 6, old size 2, MREMAP_MAYMOVE only:
    the change of map_count with new size 5, and with new size 7. Answer a pair ``(delta_5, delta_7)``."""
    want = (_explorer_delta(offset=6, old_size=2, new_size=5), _explorer_delta(offset=6, old_size=2, new_size=7))
    return judge(answer, want, as_int_pair, "a pair of whole numbers such as (0, 0)",
                 f"Right: {want[0]:+d} and {want[1]:+d}. The smaller growth fits in the free pages after O, so O is "
                 "extended in place; the larger does not, so the range moves (copy +1, the source trimmed off O's "
                 "end).", hints=[
        Hint(lambda g, w: g == (w[1], w[0]), "swapped", "the other way round: (change with new size 5, change "
             "with new size 7)."),
        Hint(lambda g, w: g == (w[0], w[1] + 1), "trim_not_punch", "the 2 pages end where O ends: unmapping them "
             "after the move trims O, it does not punch a hole."),
        Hint(lambda g, w: g[0] != w[0], "in_place", "with new size 5 the range grows into pages 8–10, which are "
             "free: O is extended in place, no VMA is added."),
        Hint(lambda g, w: g[1] != w[1], "must_move", "with new size 7 the range would need page 12, which is D's: "
             "it must move. What does the copy add, and what does unmapping the old 2 pages change?"),
    ])


def check_dontunmap_delta(answer: Any) -> Feedback:
    """03, exercise 2: in the mremap explorer on 6.18, source O, offset 2, old and new size 2,
    MREMAP_MAYMOVE|MREMAP_DONTUNMAP, new address page 30: the change of map_count."""
    d = _explorer_delta(offset=2, old_size=2, new_size=2, dontunmap=True, dest=30)
    return judge(answer, d, as_int, WHOLE, f"Right: {d:+d}. The copy is a new VMA, and with DONTUNMAP the old VMA "
                 "is neither unmapped nor split (semantics §3.5.4 step 4).", hints=[
        Hint(_off(+2), "split_source", "that would be a hole punched into O; with DONTUNMAP the old VMA is never "
             "split."),
        Hint(_off(-1), "nothing_new", "the moved pages get a VMA of their own at page 30."),
    ], fallback="With DONTUNMAP nothing is unmapped at the source: what is new after the call?")


def check_fixed_delta(answer: Any) -> Feedback:
    """03, exercise 3: in the mremap explorer on 6.18, source O, offset 2, old and new size 2,
    MREMAP_MAYMOVE|MREMAP_FIXED, new address page 14 (inside D): the change of map_count."""
    d = _explorer_delta(offset=2, old_size=2, new_size=2, fixed=True, dest=14)
    return judge(answer, d, as_int, WHOLE, f"Right: {d:+d}: a hole punched into D, the new VMA, and a hole "
                 "punched into O (semantics §7.2, the same shape as seed-S).", hints=[
        Hint(_off(-2), "copy_only", "the copy is one VMA, but the destination unmap and the source unmap each "
             "punch a hole too."),
        Hint(_off(-1), "one_punch", "two holes are punched: one into D (the destination) and one into O (the "
             "source)."),
        Hint(lambda g, w: g > w, "too_many", "count each step once: destination unmap, copy_vma, source unmap."),
    ], fallback="Add up the destination unmap, copy_vma and the source unmap, one step at a time.")


# ---- 04-the-bug ----------------------------------------------------------------------------------------


def _sweep_50(scenario: str, free_slots: Iterable[int] = range(0, 17)) -> Any:
    from ..experiments import sweep

    return sweep(scenario, "5.0", free_slots=sorted(set(free_slots)), progress=False)


def check_bug_slots(answer: Any, scenario: str = "seed-S") -> Feedback:
    """04, exercise 1: at which free-slot counts (0 to 16) does ``scenario`` leave a half-changed address space
    on kernel 5.0? Answer a collection of ints, e.g. ``[2, 3]`` or ``range(2, 4)``. The notebook demonstrates
    seed-W, so the exercise asks about its same-size sibling seed-S (semantics §7.2), which has no tail to
    unmap: predict, do not read it off a demo."""
    df = _sweep_50(scenario)
    partial = df[df["outcome"] == "PARTIAL_FAIL"]
    want = frozenset(int(s) for s in partial["free_slots"])
    fp_only = frozenset(int(s) for s in partial.loc[partial["fp"], "free_slots"])
    first_ok = int(df.loc[df["outcome"] == "OK", "free_slots"].min())
    lo = min(want)
    demo: list[frozenset[int]] = []

    def seed_w() -> frozenset[int]:  # the demo's band, swept only when a wrong answer needs the hint
        if not demo:
            w50 = _sweep_50("seed-W")
            demo.append(frozenset(int(s) for s in w50.loc[w50["outcome"] == "PARTIAL_FAIL", "free_slots"]))
        return demo[0]

    return judge(answer, want, as_int_set, "a collection of whole numbers such as [2, 3]",
                 f"Right: {scenario} fails half-way from {lo} to {max(want)} free slots (semantics §7.1, §7.2).",
                 hints=[
        Hint(lambda g, w: g == seed_w(), "seed_w", "that is seed-W's band (the demo's); seed-S does not shrink, so "
             "it has no tail to unmap."),
        Hint(lambda g, w: g == w | {lo - 1}, "zero_clean", f"at {lo - 1} free slots the destination's punch check "
             "refuses first, before anything changed: CLEAN_FAIL."),
        Hint(lambda g, w: g == fp_only, "only_fp", "those are the partial failures that are also false positives "
             "(PARTIAL(fp)); with fewer free slots the call fails half-way too, after the destination unmap."),
        Hint(lambda g, w: g == w - {lo}, "tail_check", f"at {lo} free slot(s) the destination is already unmapped "
             "when the next check fails: that is half-done too."),
        Hint(lambda g, w: first_ok in g, "ok_from", f"from {first_ok} free slots on the call completes (OK)."),
    ], what="free-slot count(s)", fallback="Count what the unmaps and move_vma() need for seed-S, then run it with "
                                             "the trace explorer under 5.0.")


def _lost_pages(free_slots: int = 1) -> int:
    sc = get("seed-W")
    before = sc.setup("5.0", max_map_count=64, free_slots=free_slots)
    after = before.copy()
    try:
        sc.apply(after)
    except MMError:
        pass
    assert sc.window is not None
    return sum(end - start for start, end in unmapped_ranges(before, after, sc.window))


def check_lost_pages(answer: Any) -> Feedback:
    """04, exercise 2: seed-W on 5.0 at 1 free slot fails with ENOMEM. How many pages that were mapped
    before the call are unmapped after it?"""
    n = _lost_pages(1)
    with_tail = _lost_pages(2)
    return judge(answer, n, as_int, WHOLE, f"Right: {n} pages: the destination was unmapped; then the tail's hole "
                 "punch was refused, so the tail survived.", hints=[
        Hint(lambda g, w: g == with_tail and with_tail != w, "tail_survived", "that is what is lost with one more "
             "free slot; at 1 the tail's punch check failed, so the tail was not unmapped."),
        Hint(_is(0), "dest_unmapped", "the destination unmap ran before the check that failed: its pages are gone."),
    ], fallback="Which step fails at 1 free slot? Only the unmaps before it took pages away.")


def check_fixed_min_slots(answer: Any) -> Feedback:
    """04, exercise 3: the fewest free slots at which kernel 5.1 completes seed-W."""
    from ..checks import CHECKS

    need = min_free_slots("seed-W", "5.1")
    assert need is not None
    move = CHECKS["move_vma_limit"].slots
    ideal = min_free_slots("seed-W", "ideal")
    return judge(answer, need, as_int, WHOLE, f"Right: {need}. Below that, 5.1's early check refuses at once — "
                 "cleanly (semantics §7.1).", hints=[
        Hint(_off(-1), "ge", "`>=`: at that count (map_count + 2) >= max_map_count − 3 holds exactly, so the early "
             "check refuses."),
        Hint(lambda g, w: g == move, "move_only", f"{move} is what move_vma's own check needs; 5.1's early check "
             "adds the +2 the two unmaps may cost."),
        Hint(lambda g, w: g == ideal, "ideal", f"{ideal} is what the ideal kernel needs; 5.1 refuses before it knows "
             "what the call would do."),
    ], fallback="Switch the trace explorer to kernel 5.1 and raise the free slots until it says OK.")
