"""Exercise checks for notebooks 05-08 (the fix, false positives, after 2019, the live-kernel lab).

Same mechanism as :mod:`mmsim.exercises.basics`: each ``check_*`` computes the expected value with the model
when it runs and returns a :class:`~mmsim.exercises.feedback.Feedback` (true iff right; one ✔/✘ line with a
hint for the typical wrong answers). It never raises.

===================================  ==============  =================================================
check                              notebook        the answer
===================================  ==============  =================================================
check_smaller_headroom_free_slots  05 exercise 1   int: free slots an early check needs with 7.1's move headroom
check_seed_w_ideal_refusals        05 exercise 2   set: free slots (0-8) where 5.1 refuses seed-W but ideal_ok
check_seed_s_false_positives       05 exercise 3   set: free slots (0-8) where 5.1 refuses seed-S needlessly
check_fp_rate                      06 exercise 1   share: 5.1's FALSE_POSITIVE share, catalogue, 0-10 free slots
check_k_whole_min_free_slots       06 exercise 2   dict: kernel -> fewest free slots for k_whole(2) to succeed
check_alt_fixes                    06 exercise 3   set: catalogue scenarios with a 5.1 false positive, none in 5.1-alt
check_v71_grow_refusals            07 exercise 1   set: free slots (0-8) where 7.1 refuses grow-in-place
check_multi_vma_partial            07 exercise 2   dict: kernel -> free slots (0-10) where multi-vma fails half-way
check_changed_at_free_slots        07 exercise 3   set: catalogue scenarios whose outcome differs, 6.18 vs 7.1, 4 slots
check_live_prediction              08 exercise 1   dict: free slots -> errno name or "OK" for seed-S on 6.18
check_fail_at_free_slots           08 exercise 2   set: catalogue mremaps that do not succeed on 6.18 with 4 slots
check_profile_for_release          08 exercise 3   dict: release string -> mmsim profile name or None
===================================  ==============  =================================================
"""

from __future__ import annotations

from typing import Any

from ..deprecation import renamed_arguments
from .feedback import (
    Feedback,
    Hint,
    as_errname,
    as_int,
    as_int_set,
    as_str_set,
    judge,
    judge_mapping,
    judge_share,
)

__all__ = [
    "EXERCISE_RELEASES",
    "check_smaller_headroom_free_slots",
    "check_seed_w_ideal_refusals",
    "check_seed_s_false_positives",
    "check_fp_rate",
    "check_k_whole_min_free_slots",
    "check_alt_fixes",
    "check_v71_grow_refusals",
    "check_v71_needless_refusals",
    "check_multi_vma_partial",
    "check_changed_at_free_slots",
    "check_live_prediction",
    "check_fail_at_free_slots",
    "check_profile_for_release",
    "check_thread_stacks",
    "check_calls_that_fit",
]

#: Releases of :func:`check_profile_for_release` (08, exercise 3), in the order the notebook lists them.
EXERCISE_RELEASES: tuple[str, ...] = (
    "5.0.21", "5.1.15", "5.4.0-150-generic", "6.1.0-28-amd64", "6.8.0-45-generic", "6.17.2", "6.18.44-fc-v782",
    "7.0.1", "7.1.3",
)

SLOTS = "a set of free-slot counts, e.g. {1, 2}"
NAMES = "a set of scenario names, e.g. {'seed-W'}"


def _sweep(*args: Any, **kwargs: Any) -> Any:
    from ..experiments import sweep

    return sweep(*args, progress=False, **kwargs)


def _free_slots_where(df: Any, mask: Any) -> frozenset[int]:
    return frozenset(int(s) for s in df.loc[mask, "free_slots"])


def _known_names(universe: Any) -> Any:
    """A normaliser for sets of scenario names that refuses names outside ``universe`` (a wrong shape)."""
    names = set(universe)

    def norm(answer: Any) -> frozenset[str] | None:
        got = as_str_set(answer)
        return got if got is not None and got <= names else None

    return norm


def _unknown(answer: Any, universe: Any) -> Feedback | None:
    got = as_str_set(answer)
    if got is None:
        return None
    bad = sorted(got - set(universe))
    if bad:
        return Feedback(False, f"Not scenario names of the catalogue: {', '.join(bad)} (see mmsim.scenarios.names()).",
                        "unknown_name")
    return None


# ---- 05-the-fix ------------------------------------------------------------------------------------


def check_smaller_headroom_free_slots(answer: Any) -> Feedback:
    """05, exercise 1: keep 5.1's worst case for the two unmaps of ``mremap_to()``, but let ``move_vma()``
    need only the headroom of 7.1's move check (``map_count + 2 <= max_map_count``). From how many free slots
    would such an early check let a MREMAP_FIXED call through?

    The expected value comes from the model: the growth of a hole punch (the ``munmap-punch`` scenario), once
    for the destination and once for the tail, plus the free slots ``move_vma_limit_v7`` needs (from the
    registry of checks, :data:`mmsim.checks.CHECKS`).
    """
    from ..checks import CHECKS
    from ..tables import run_small

    punch = run_small("munmap-punch", "5.1", 16)
    worst_unmap_growth = 2 * (punch.mc_after - punch.mc_before)  # destination and tail may each punch a hole
    move_needs = CHECKS["move_vma_limit_v7"].slots
    assert move_needs is not None
    want = move_needs + worst_unmap_growth
    early_51 = CHECKS["mremap_early"].slots
    return judge(answer, want, as_int, "a number of free slots (an int)",
                 f"Right: move_vma would want {move_needs} free slots and the unmaps may use {worst_unmap_growth}, "
                 f"so {want}. Notebook 07 shows which kernel chose exactly this.", hints=[
        Hint(lambda g, w: g == move_needs, "forgot_unmaps", "that is what move_vma wants when it starts; the early "
             f"check runs before the two unmaps, which may add {worst_unmap_growth} VMAs first."),
        Hint(lambda g, w: g == w - 1, "threshold_vs_need", "off by one: move_vma_limit_v7 *fails* with "
             f"{move_needs - 1} free slot(s), so it *needs* {move_needs}; then add what the unmaps may cost."),
        Hint(lambda g, w: g == early_51, "same_as_51", f"{early_51} is 5.1's early check, built on move_vma's old "
             "headroom of 4; here move_vma needs less."),
    ], fallback="Free slots move_vma wants when it starts, plus what the two unmaps before it may add.")


def check_seed_w_ideal_refusals(answer: Any) -> Feedback:
    """05, exercise 2: the set of free-slot counts from 0 to 8 at which kernel 5.1 refuses seed-W although the
    ideal kernel would have completed it (``ideal_ok``)."""
    df = _sweep("seed-W", kernels="5.1", free_slots=range(0, 9))
    refused = df["outcome"] != "OK"
    want = _free_slots_where(df, refused & df["ideal_ok"])
    all_refused = _free_slots_where(df, refused)
    fps = _free_slots_where(df, df["outcome"] == "FALSE_POSITIVE")
    return judge(answer, want, as_int_set, SLOTS, f"Right: at {sorted(want)} free slots 5.1 refuses seed-W, yet a "
                 "kernel that could undo its work would complete it (semantics §7.1).", hints=[
        Hint(lambda g, w: g == all_refused, "every_refusal", "that is every count where 5.1 refuses; at the lower "
             "ones even the ideal kernel fails (a punch check, or its R3 rule), so ideal_ok is False there."),
        Hint(lambda g, w: g == fps, "fp_not_ideal_ok", "those are the FALSE_POSITIVE rows; the question is about "
             "ideal_ok, which also marks CLEAN_FAIL refusals that were stricter than necessary."),
        Hint(lambda g, w: g > w, "too_low", "at the lowest of these even ideal fails: look at the ideal_ok column."),
    ], what="free-slot count(s)")


def check_seed_s_false_positives(answer: Any) -> Feedback:
    """05, exercise 3: the set of free-slot counts from 0 to 8 at which kernel 5.1 refuses seed-S although
    the call would have fitted (``FALSE_POSITIVE``)."""
    df = _sweep("seed-S", kernels="5.1", free_slots=range(0, 9))
    want = _free_slots_where(df, df["outcome"] == "FALSE_POSITIVE")
    ideal_ok = _free_slots_where(df, (df["outcome"] != "OK") & df["ideal_ok"])
    refused = _free_slots_where(df, df["outcome"] != "OK")
    return judge(answer, want, as_int_set, SLOTS, f"Right: 5.1 refuses seed-S needlessly at {sorted(want)} free "
                 "slots (semantics §7.2).", hints=[
        Hint(lambda g, w: g == ideal_ok, "ideal_ok_not_fp", "those are the ideal_ok refusals; at the lower ones "
             "5.1's flow without the early check would hit move_vma's check after the destination unmap: "
             "CLEAN_FAIL, not FALSE_POSITIVE."),
        Hint(lambda g, w: g == refused, "every_refusal", "that is every refusal; only some are FALSE_POSITIVE."),
    ], what="free-slot count(s)")


# ---- 06-false-positives ------------------------------------------------------------------------------


def check_fp_rate(answer: Any, kernel: str = "5.1") -> Feedback:
    """06, exercise 1: the share of ``kernel``'s cases that are ``FALSE_POSITIVE`` in a sweep of the whole
    catalogue over 0-10 free slots. A fraction (``0.091``) or a percentage (``9.1``, ``"9.1 %"``) is accepted,
    to the 0.1 % the success line prints (:func:`~mmsim.exercises.feedback.judge_share`)."""
    from ..experiments import false_positive_rate, outcome_counts

    df = _sweep(None, kernels=kernel, free_slots=range(0, 11))
    want = float(false_positive_rate(df)[kernel])
    with_partial = float(false_positive_rate(df, include_partial=True)[kernel])
    counts = outcome_counts(df).loc[kernel]
    n_fp, total = int(counts["FALSE_POSITIVE"]), int(counts["total"])
    refused = 1 - float(counts["OK"]) / total
    if isinstance(answer, int) and not isinstance(answer, bool) and answer == n_fp and n_fp > 1:
        return Feedback(False, f"{n_fp}: that is the number of FALSE_POSITIVE cases; the question asks for their "
                               f"share of kernel {kernel}'s {total} cases.", "count_not_share")
    return judge_share(answer, want, f"Right: {want:.1%} of kernel {kernel}'s cases ({n_fp} of {total}) are refused "
                       "needlessly.", hints=[
        Hint(lambda g, w: abs(g - with_partial) < 5e-4 and with_partial != w, "incl_partial", "that includes the "
             "PARTIAL_FAIL rows with fp; count only outcome FALSE_POSITIVE."),
        Hint(lambda g, w: abs(g - refused) < 5e-4, "all_refusals", "that is every refusal; count only "
             "FALSE_POSITIVE."),
        Hint(lambda g, w: abs(g - (1 - w)) < 5e-4, "complement", "that is the share of cases that are NOT "
             "false positives."),
    ], fallback=f"Count only kernel {kernel}'s rows with outcome FALSE_POSITIVE, over the whole catalogue at 0-10 "
                "free slots, and divide by the number of its rows.")


def check_k_whole_min_free_slots(answer: Any, k: int = 2) -> Feedback:
    """06, exercise 2: for the k-whole-VMAs scenario ``k_whole(k)``, a dict ``{kernel: fewest free slots
    (0-10) at which the call succeeds}`` for every kernel of :data:`mmsim.KERNELS`."""
    from ..checks import CHECKS
    from ..profiles import KERNELS
    from ..scenarios import k_whole
    from ..tables import min_free_slots

    sc = k_whole(k)
    want = {kern: min_free_slots(sc, kern, range(0, 11)) for kern in KERNELS}
    move = CHECKS["move_vma_limit"].slots
    early = CHECKS["mremap_early"].slots
    early7 = CHECKS["mremap_early_v7"].slots
    hints = {
        None: [
            Hint(lambda g, w: w == 0 and g != 0, "lowers", f"the call lowers map_count by {k}: the ideal kernel "
                 "completes it at any count"),
            Hint(lambda g, w: g == move and w is not None and move is not None and w < move, "after_dest_unmap",
                 f"this kernel checks only in move_vma, after the destination unmap has already freed {k} VMAs"),
            Hint(lambda g, w: g is not None and w == early and g < early, "early_ignores_k", "the early check of "
                 "5.1, 6.1 and 6.18 never looks at the destination: it wants the same free slots whatever k is"),
            Hint(lambda g, w: w == early7 and g != early7, "v7_every_call", "7.1's early check wants "
                 "map_count + 4 <= max for every mremap"),
        ],
    }
    return judge_mapping(answer, want, key=lambda x: str(x) if str(x) in KERNELS else None, value=as_int,
                         shape="a dict {kernel name: fewest free slots}, one entry per kernel of mmsim.KERNELS",
                         right=f"Right: k_whole({k}) lowers map_count by {k}, yet needs "
                               + ", ".join(f"{kern}: {want[kern]}" for kern in KERNELS) + " free slots.",
                         hints=hints)


def check_alt_fixes(answer: Any) -> Feedback:
    """06, exercise 3: the catalogue scenarios that 5.1 refuses needlessly (FALSE_POSITIVE) at some count of
    0-10 free slots but 5.1-alt never does."""
    from ..scenarios import CATALOGUE

    bad = _unknown(answer, CATALOGUE)
    if bad is not None:
        return bad
    df = _sweep(None, kernels=["5.1", "5.1-alt"], free_slots=range(0, 11))
    fp = df[df["outcome"] == "FALSE_POSITIVE"]
    fp51 = frozenset(fp.loc[fp["kernel"] == "5.1", "scenario"])
    fp_alt = frozenset(fp.loc[fp["kernel"] == "5.1-alt", "scenario"])
    want = fp51 - fp_alt
    return judge(answer, want, _known_names(CATALOGUE), NAMES,
                 f"Right: the exact prediction removes 5.1's false positives in {sorted(want)}.", hints=[
        Hint(lambda g, w: g == fp51, "all_of_51", "that is every scenario 5.1 refuses needlessly; some of them "
             "5.1-alt refuses needlessly too (move_vma's own check)."),
        Hint(lambda g, w: bool(g & fp_alt), "alt_still_fp", lambda g, w: f"5.1-alt still refuses {sorted(g & fp_alt)} "
             "needlessly at some count: move_vma's own check, which both kernels have."),
    ], what="scenario(s)")


# ---- 07-after-2019 ---------------------------------------------------------------------------------


def check_v71_grow_refusals(answer: Any) -> Feedback:
    """07, exercise 1: the set of free-slot counts from 0 to 8 at which kernel 7.1 refuses the
    ``grow-in-place`` scenario (any outcome other than OK)."""
    df = _sweep("grow-in-place", kernels="7.1", free_slots=range(0, 9))
    want = _free_slots_where(df, df["outcome"] != "OK")
    top = max(want) if want else -1
    return judge(answer, want, as_int_set, SLOTS, f"Right: 7.1 refuses a grow in place, which adds no VMA, at "
                 f"{sorted(want)} free slots (semantics §3.5.2 step 2).", hints=[
        Hint(lambda g, w: g == w - {top}, "gt", f"`>`: map_count + 4 > max_map_count also holds at exactly {top} "
             "free slots."),
        Hint(lambda g, w: not g, "checks_every_call", "7.1's early check runs for every mremap, a grow in place "
             "too."),
        Hint(lambda g, w: top + 1 in g, "passes_from", f"from {top + 1} free slots map_count + 4 <= max holds."),
    ], what="free-slot count(s)")


def check_v71_needless_refusals(answer: Any, scenario: str = "shrink-punch") -> Feedback:
    """07, exercise 1: the set of free-slot counts from 0 to 8 at which kernel 7.1 refuses ``scenario`` needlessly
    (``FALSE_POSITIVE``). For ``shrink-punch`` (a shrink whose cut-off tail is a hole inside the VMA) 7.1's early
    check refuses at 3 free slots or fewer, but at 0 the punch check every kernel runs would refuse too, so that
    refusal is not needless (semantics §4, "shrink in place, tail is a punch")."""
    df = _sweep(scenario, kernels="7.1", free_slots=range(0, 9))
    want = _free_slots_where(df, df["outcome"] == "FALSE_POSITIVE")
    refused = _free_slots_where(df, df["outcome"] != "OK")
    top = max(want) if want else -1
    return judge(answer, want, as_int_set, SLOTS, f"Right: 7.1 refuses {scenario} needlessly at {sorted(want)} free "
                 "slots; below that the hole punch itself needs the slot (semantics §4).", hints=[
        Hint(lambda g, w: g == refused and g != w, "punch_needs_one", "at the lowest of these the refusal is needed: "
             "the tail is a hole punch, and the punch check (map_count >= max) would refuse it in any kernel."),
        Hint(lambda g, w: not g, "checks_every_call", "7.1's early check runs for every mremap, a shrink too."),
        Hint(lambda g, w: g == w - {top}, "gt", f"`>`: map_count + 4 > max_map_count also holds at exactly {top} "
             "free slots."),
        Hint(lambda g, w: top + 1 in g, "passes_from", f"from {top + 1} free slots map_count + 4 <= max holds."),
    ], what="free-slot count(s)")


def check_multi_vma_partial(answer: Any, scenario: str = "multi-vma-4") -> Feedback:
    """07, exercise 2: a dict ``{"6.18": set, "7.1": set}`` of the free-slot counts from 0 to 10 at which
    ``scenario`` fails half-way (``PARTIAL_FAIL``) under each kernel. The notebook shows the three-piece
    ``multi-vma``; the exercise asks about four pieces (:func:`mmsim.scenarios.multi_vma`), to predict."""
    df = _sweep(scenario, kernels=["6.18", "7.1"], free_slots=range(0, 11))
    three = _sweep("multi-vma", kernels=["6.18", "7.1"], free_slots=range(0, 11))
    demo = {k: _free_slots_where(three, (three["kernel"] == k) & (three["outcome"] == "PARTIAL_FAIL"))
            for k in ("6.18", "7.1")}
    want = {k: _free_slots_where(df, (df["kernel"] == k) & (df["outcome"] == "PARTIAL_FAIL")) for k in ("6.18", "7.1")}
    hints = {
        None: [Hint(lambda g, w: g in demo.values() and g != w, "three_pieces", "that is the three-piece move of "
                    "the demo; a fourth piece adds one more VMA before the last move check")],
        "6.18": [Hint(lambda g, w: g == want["7.1"], "swapped", "that is 7.1's set"),
                 Hint(lambda g, w: bool(g) and min(g) < min(w), "early_refuses", "below that 6.18's early check "
                      "refuses first, cleanly")],
        "7.1": [Hint(lambda g, w: g == want["6.18"], "swapped", "that is 6.18's set"),
                Hint(lambda g, w: bool(g) and min(g) < min(w), "early_refuses", "below that 7.1's early check "
                     "refuses first, cleanly")],
    }
    return judge_mapping(answer, want, key=lambda x: str(x) if str(x) in want else None, value=as_int_set,
                         shape='a dict {"6.18": set of free-slot counts, "7.1": set of free-slot counts}',
                         right=f"Right: each kernel can stop part way through {scenario}, at different counts "
                               f"({', '.join(f'{k}: {sorted(v)}' for k, v in want.items())}).", hints=hints)


@renamed_arguments(slack="free_slots")
def check_changed_at_free_slots(answer: Any, free_slots: int = 4) -> Feedback:
    """07, exercise 3: the catalogue scenarios whose outcome class differs between 6.18 and 7.1 when the
    process has ``free_slots`` free slots."""
    from ..scenarios import CATALOGUE

    bad = _unknown(answer, CATALOGUE)
    if bad is not None:
        return bad
    df = _sweep(None, kernels=["6.18", "7.1"], free_slots=[free_slots])
    t = df.pivot(index="scenario", columns="kernel", values="outcome")
    want = frozenset(t.index[t["6.18"] != t["7.1"]])
    mremaps = frozenset(n for n, sc in CATALOGUE.items() if sc.op == "mremap")
    return judge(answer, want, _known_names(CATALOGUE), NAMES,
                 f"Right: with {free_slots} free slots, 6.18 and 7.1 differ on {sorted(want)}.", hints=[
        Hint(lambda g, w: bool(g - mremaps), "not_mremap", lambda g, w: f"{sorted(g - mremaps)} are not mremap calls: "
             "7.1 changed only mremap's checks."),
    ], what="scenario(s)")


# ---- 08-live-kernel-lab ----------------------------------------------------------------------------


@renamed_arguments(slacks="free_slots")
def check_live_prediction(answer: Any, scenario: str = "seed-S", kernel: str = "6.18",
                          free_slots: tuple[int, ...] = (5, 6)) -> Feedback:
    """08, exercise 1: predict with the model what the kernel returns for ``scenario`` at each of ``free_slots``
    free slots: a dict ``{free_slots: errno name such as "ENOMEM", or "OK"}``."""
    df = _sweep(scenario, kernels=kernel, free_slots=list(free_slots))
    want = {int(sl): ("OK" if outcome == "OK" else err)
            for sl, outcome, err in zip(df["free_slots"], df["outcome"], df["errno"], strict=True)}
    classes = ("FALSE_POSITIVE", "CLEAN_FAIL", "PARTIAL_FAIL")
    hints = {None: [
        Hint(lambda g, w: g in classes, "class_not_errno", "the kernel returns an errno, not a class: the class is "
             "the model's name for what that errno meant"),
        Hint(lambda g, w: g == "OK" and w != "OK", "early_refuses", f"{kernel}'s early check refuses here"),
        Hint(lambda g, w: g != "OK" and w == "OK", "fits", "here the early check passes and the call fits"),
    ]}
    return judge_mapping(answer, want, key=as_int, value=as_errname,
                         shape="a dict {free slots: 'OK' or an errno name such as 'ENOMEM'}, keys "
                               + ", ".join(map(str, free_slots)),
                         right="Right: " + ", ".join(f"{s} free slots -> {want[s]}" for s in free_slots)
                               + ". The kernel returns only the errno: whether a refusal was needless, only the "
                                 "model can tell.", hints=hints)


@renamed_arguments(slack="free_slots")
def check_fail_at_free_slots(answer: Any, free_slots: int = 4, kernel: str = "6.18") -> Feedback:
    """08, exercise 2: the catalogue's mremap scenarios that do not succeed under ``kernel`` when the
    process has only ``free_slots`` free slots (any outcome other than OK)."""
    from ..scenarios import CATALOGUE

    names = [n for n, sc in CATALOGUE.items() if sc.op == "mremap"]
    bad = _unknown(answer, names)
    if bad is not None:
        return bad
    df = _sweep(names, kernels=kernel, free_slots=[free_slots])
    want = frozenset(df.loc[df["outcome"] != "OK", "scenario"])
    in_place = frozenset(n for n in names if CATALOGUE[n].family == "in-place")
    return judge(answer, want, _known_names(names), NAMES,
                 f"Right: with {free_slots} free slots, {kernel} refuses {sorted(want)}.", hints=[
        Hint(lambda g, w: bool(g & in_place), "no_check_in_place", lambda g, w: f"{sorted(g & in_place)}: grows and "
             f"shrinks in place have no map_count check on {kernel} (7.1 added one)."),
    ], what="scenario(s)")


def check_profile_for_release(answer: Any) -> Feedback:
    """08, exercise 3: for each release string of :data:`EXERCISE_RELEASES`, the mmsim profile that models it,
    or ``None`` when no profile does: a dict ``{release: profile name or None}``."""
    from ..profiles import KERNELS, profile_for_release

    want = {r: profile_for_release(r) for r in EXERCISE_RELEASES}
    hints = {None: [
        Hint(lambda g, w: w is None, "between", "releases that no profile's range covers mix 5.1's thresholds with "
             "some of the later changes: no profile models them exactly (None)"),
        Hint(lambda g, w: w == "6.18", "range_617_70", "profile 6.18 models 6.17 up to 7.0"),
        Hint(lambda g, w: w == "6.1", "lts", "profile 6.1 models the 6.1 LTS line"),
    ]}
    covered = sum(v is not None for v in want.values())
    return judge_mapping(answer, want, key=lambda x: x if x in want else None,
                         value=lambda v: v if v in KERNELS else None,
                         shape="a dict {release string: profile name or None} with one entry per release listed",
                         right=f"Right: {covered} of the {len(EXERCISE_RELEASES)} releases are modelled by a profile.",
                         hints=hints, fallback="See the profile table in docs/semantics.md §0.")


# ---- 10-real-workloads ----------------------------------------------------------------------------------


def check_thread_stacks(answer: Any, max_map_count: int = 1000, base: int = 445) -> Feedback:
    """10, exercise 1: how many thread stacks with a guard page (an mmap, then an mprotect of its lowest page to
    PROT_NONE) a process of ``base`` VMAs can create under ``vm.max_map_count`` = ``max_map_count``
    (:func:`mmsim.workloads.thread_stacks`)."""
    from ..workloads import thread_stacks

    want = thread_stacks(max_map_count, base)["threads"]
    return judge(answer, want, as_int, "a whole number", f"Right: {want} stacks of two VMAs each; the next one's "
                 "mmap still succeeds (map_count may reach the limit), but its guard's split needs a free slot.",
                 hints=[
        Hint(lambda g, w: g == max_map_count - base, "one_vma_each", "the guard page splits the mapping: each "
             "stack is two VMAs (semantics §2.1)."),
        Hint(lambda g, w: g == w + 1, "last_guard", "the last mmap succeeds (do_mmap() refuses only above the "
             "limit), but mprotect's split needs map_count < max_map_count: that stack gets no guard."),
    ])


def check_calls_that_fit(answer: Any, free: int = 7, scenario: str = "seed-W", kernel: str = "7.1") -> Feedback:
    """10, exercise 2: how many calls of ``scenario``'s shape, each on its own fresh VMAs, fit in a process with
    ``free`` free slots under ``kernel`` (:func:`mmsim.workloads.calls_that_fit`)."""
    from ..workloads import calls_that_fit

    r = calls_that_fit(free, scenario, [kernel])[kernel]
    want = r["calls"]
    return judge(answer, want, as_int, "a whole number", f"Right: {want} call(s): each needs {r['need']} free slots "
                 f"before it (its layout's VMAs included) and uses {r['delta']}.", hints=[
        Hint(lambda g, w: g == 0 and w > 0, "thresholds_v7", f"{kernel}'s checks ask for fewer free slots than "
             "5.1's: map_count + 4 <= max early, map_count + 2 <= max per moved VMA."),
        Hint(lambda g, w: g > w, "each_uses", "each call uses free slots: its layout's two VMAs and the net +3 of "
             "the move (semantics §7.1)."),
    ])
