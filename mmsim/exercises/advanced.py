"""Exercise checks for notebooks 05-08 (the fix, false positives, after 2019, the live-kernel lab).

Every ``check_*`` function takes the learner's ``answer``, works out the expected value with the model
(never from a stored constant), prints one line starting with ``✔`` or ``✘`` and returns ``True`` or
``False``. A malformed answer (``...``, ``None``, a wrong type) is a wrong answer: it never raises.

===============================  ==============  =================================================
check                            notebook        the answer
===============================  ==============  =================================================
check_smaller_headroom_slack     05 exercise 1   int: free slots an early check needs with 7.1's move headroom
check_seed_w_ideal_refusals      05 exercise 2   set: free slots (0-8) where 5.1 refuses seed-W but ideal_ok
check_seed_s_false_positives     05 exercise 3   set: free slots (0-8) where 5.1 refuses seed-S needlessly
check_fp_rate                    06 exercise 1   float: 5.1's FALSE_POSITIVE share, catalogue, slacks 0-10
check_k_whole_min_slack          06 exercise 2   dict: kernel -> fewest free slots for k_whole(2) to succeed
check_alt_fixes                  06 exercise 3   set: catalogue scenarios with a 5.1 false positive, none in 5.1-alt
check_v71_grow_refusals          07 exercise 1   set: free slots (0-8) where 7.1 refuses grow-in-place
check_multi_vma_partial          07 exercise 2   dict: kernel -> free slots (0-10) where multi-vma fails half-way
check_changed_at_slack           07 exercise 3   set: catalogue scenarios whose outcome differs, 6.18 vs 7.1, 4 slots
check_live_prediction            08 exercise 1   dict: free slots -> errno name or "OK" for seed-S on 6.18
check_fail_at_slack              08 exercise 2   set: catalogue mremaps that do not succeed on 6.18 with 4 slots
check_profile_for_release        08 exercise 3   dict: release string -> mmsim profile name or None
===============================  ==============  =================================================
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "EXERCISE_RELEASES",
    "check_smaller_headroom_slack",
    "check_seed_w_ideal_refusals",
    "check_seed_s_false_positives",
    "check_fp_rate",
    "check_k_whole_min_slack",
    "check_alt_fixes",
    "check_v71_grow_refusals",
    "check_multi_vma_partial",
    "check_changed_at_slack",
    "check_live_prediction",
    "check_fail_at_slack",
    "check_profile_for_release",
]

#: Releases of :func:`check_profile_for_release` (08, exercise 3), in the order the notebook lists them.
EXERCISE_RELEASES: tuple[str, ...] = (
    "5.0.21", "5.1.15", "5.4.0-150-generic", "6.8.0-45-generic", "6.17.2", "6.18.44-fc-v782", "7.0.1", "7.1.3",
)


# ---- helpers ---------------------------------------------------------------------------------------


def _verdict(ok: bool, good: str, bad: str) -> bool:
    print(("✔ " + good) if ok else ("✘ " + bad))
    return ok


def _missing_answer(answer: Any) -> bool:
    return answer is None or answer is Ellipsis


def _no_answer(shape: str) -> bool:
    return _verdict(False, "", f"No answer yet: replace None with {shape} and run the cell again.")


def _is_int(v: Any) -> bool:
    """True for ints and numpy integers (not bools)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _int_set(answer: Any) -> frozenset[int] | None:
    """The answer as a set of ints (from a set, list, tuple, range, pandas Series ...), or None."""
    if isinstance(answer, (str, bytes, Mapping)) or not isinstance(answer, Iterable):
        return None
    try:
        items = list(answer)
    except Exception:
        return None
    if not all(_is_int(v) for v in items):
        return None
    return frozenset(int(v) for v in items)


def _str_set(answer: Any) -> frozenset[str] | None:
    """The answer as a set of strings (a single string is not accepted), or None."""
    if isinstance(answer, (str, bytes, Mapping)) or not isinstance(answer, Iterable):
        return None
    try:
        items = list(answer)
    except Exception:
        return None
    if not all(isinstance(v, str) for v in items):
        return None
    return frozenset(items)


def _set_feedback(got: frozenset, want: frozenset, what: str) -> str:
    missing, extra = want - got, got - want
    parts = []
    if missing:
        parts.append(f"{len(missing)} {what} missing")
    if extra:
        parts.append(f"{len(extra)} {what} that should not be there ({', '.join(map(str, sorted(extra)))})")
    return "; ".join(parts)


def _fmt_set(values: Iterable) -> str:
    vals = sorted(values)
    return "{" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in vals) + "}" if vals else "set()"


def _sweep(*args: Any, **kwargs: Any):
    from mmsim.experiments import sweep

    return sweep(*args, progress=False, **kwargs)


def _slacks_with(scenario: Any, kernel: str, slacks: Iterable[int], outcome: str) -> frozenset[int]:
    df = _sweep(scenario, kernels=kernel, slacks=list(slacks))
    return frozenset(int(s) for s in df.loc[df["outcome"] == outcome, "slack"])


def _min_ok_slack(rows) -> int | None:
    """The fewest free slots from which every larger slack of a one-kernel sweep is OK (None if the
    largest is not)."""
    best = None
    for slack, outcome in sorted(zip(rows["slack"], rows["outcome"], strict=True), reverse=True):
        if outcome != "OK":
            break
        best = int(slack)
    return best


def _check_int_set(answer: Any, want: frozenset[int], what: str, good: str, shape: str) -> bool:
    if _missing_answer(answer):
        return _no_answer(shape)
    got = _int_set(answer)
    if got is None:
        return _verdict(False, "", f"Expected {shape}, got {type(answer).__name__} {answer!r}.")
    if got == want:
        return _verdict(True, good.format(_fmt_set(want)), "")
    return _verdict(False, "", f"Not quite: {_set_feedback(got, want, what)}.")


def _check_str_set(answer: Any, want: frozenset[str], good: str, shape: str, universe: Iterable[str]) -> bool:
    if _missing_answer(answer):
        return _no_answer(shape)
    got = _str_set(answer)
    if got is None:
        return _verdict(False, "", f"Expected {shape}, got {type(answer).__name__} {answer!r}.")
    unknown = got - set(universe)
    if unknown:
        return _verdict(False, "", f"Not scenario names of the catalogue: {_fmt_set(unknown)}.")
    if got == want:
        return _verdict(True, good.format(_fmt_set(want)), "")
    return _verdict(False, "", f"Not quite: {_set_feedback(got, want, 'scenario(s)')}.")


# ---- 05-the-fix ------------------------------------------------------------------------------------


def check_smaller_headroom_slack(answer: Any) -> bool:
    """05, exercise 1: keep 5.1's worst case for the two unmaps of ``mremap_to()``, but let ``move_vma()``
    need only the headroom of 7.1's move check (``map_count + 2 <= max_map_count``). From how many free slots
    would such an early check let a MREMAP_FIXED call through?

    The expected value comes from the model: the growth of a hole punch (the ``munmap-punch`` scenario), once
    for the destination and once for the tail, plus the free slots ``move_vma_limit_v7`` needs (from the
    registry of checks, :data:`mmsim.checks.CHECKS`).
    """
    from mmsim import classify
    from mmsim.checks import CHECKS
    from mmsim.scenarios import get

    if _missing_answer(answer):
        return _no_answer("a number of free slots (an int)")
    if not _is_int(answer):
        return _verdict(False, "", f"Expected an int (a number of free slots), got {type(answer).__name__} {answer!r}.")
    punch = get("munmap-punch")
    mm = punch.build("5.1", 1 << 16)
    mm.max_map_count = mm.map_count + 16
    o = classify(mm, punch.op, *punch.args)
    worst_unmap_growth = 2 * (o.mc_after - o.mc_before)  # the destination and the tail may each punch a hole
    move_needs = CHECKS["move_vma_limit_v7"].slots
    assert move_needs is not None
    want = move_needs + worst_unmap_growth
    answer = int(answer)
    if answer == want:
        return _verdict(True, f"Right: move_vma would want {move_needs} free slots and the unmaps may use "
                              f"{worst_unmap_growth}, so {want}. Notebook 07 shows which kernel chose exactly this.",
                        "")
    hint = "too few" if answer < want else "too many"
    return _verdict(False, "", f"{answer} is {hint}. Free slots move_vma wants when it starts, plus what the two "
                               "unmaps before it may add.")


def check_seed_w_ideal_refusals(answer: Any) -> bool:
    """05, exercise 2: the set of free-slot counts from 0 to 8 at which kernel 5.1 refuses seed-W although the
    ideal kernel would have completed it (``ideal_ok``)."""
    df = _sweep("seed-W", kernels="5.1", slacks=range(0, 9))
    want = frozenset(int(s) for s in df.loc[(df["outcome"] != "OK") & df["ideal_ok"], "slack"])
    return _check_int_set(answer, want, "free-slot count(s)",
                          "Right: at {} free slots 5.1 refuses seed-W, yet a kernel that could undo its work would "
                          "complete it.", "a set of free-slot counts, e.g. {1, 2}")


def check_seed_s_false_positives(answer: Any) -> bool:
    """05, exercise 3: the set of free-slot counts from 0 to 8 at which kernel 5.1 refuses seed-S although
    the call would have fitted (``FALSE_POSITIVE``)."""
    want = _slacks_with("seed-S", "5.1", range(0, 9), "FALSE_POSITIVE")
    return _check_int_set(answer, want, "free-slot count(s)",
                          "Right: 5.1 refuses seed-S needlessly at {} free slots.",
                          "a set of free-slot counts, e.g. {1, 2}")


# ---- 06-false-positives ------------------------------------------------------------------------------


def check_fp_rate(answer: Any, kernel: str = "5.1") -> bool:
    """06, exercise 1: the share (a fraction between 0 and 1) of ``kernel``'s cases that are
    ``FALSE_POSITIVE`` in a sweep of the whole catalogue over 0-10 free slots."""
    from mmsim.experiments import false_positive_rate

    if _missing_answer(answer):
        return _no_answer("a fraction between 0 and 1")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) and not hasattr(answer, "__float__"):
        return _verdict(False, "", f"Expected a number (a fraction), got {type(answer).__name__} {answer!r}.")
    try:
        got = float(answer)
    except (TypeError, ValueError):
        return _verdict(False, "", f"Expected a number (a fraction), got {answer!r}.")
    want = float(false_positive_rate(_sweep(None, kernels=kernel, slacks=range(0, 11)))[kernel])
    if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
        return _verdict(True, f"Right: {want:.1%} of kernel {kernel}'s cases are refused needlessly.", "")
    if math.isclose(got, want * 100, rel_tol=1e-9, abs_tol=1e-9):
        return _verdict(False, "", "That looks like a percentage: give the fraction (between 0 and 1).")
    return _verdict(False, "", f"Not quite: count only kernel {kernel}'s rows, and only outcome FALSE_POSITIVE, "
                               "over the whole catalogue at 0-10 free slots.")


def check_k_whole_min_slack(answer: Any, k: int = 2) -> bool:
    """06, exercise 2: for the k-whole-VMAs scenario ``k_whole(k)``, a dict ``{kernel: fewest free slots
    (0-10) at which the call succeeds}`` for every kernel of :data:`mmsim.KERNELS`."""
    from mmsim import KERNELS
    from mmsim.scenarios import k_whole

    shape = "a dict {kernel name: fewest free slots}, one entry per kernel of mmsim.KERNELS"
    if _missing_answer(answer):
        return _no_answer(shape)
    if not isinstance(answer, Mapping):
        return _verdict(False, "", f"Expected {shape}, got {type(answer).__name__}.")
    df = _sweep(k_whole(k), kernels=KERNELS, slacks=range(0, 11))
    want = {kern: _min_ok_slack(df[df["kernel"] == kern]) for kern in KERNELS}
    keys = {str(key) for key in answer}
    if keys != set(KERNELS):
        missing, extra = set(KERNELS) - keys, keys - set(KERNELS)
        what = "; ".join(p for p in (f"missing {_fmt_set(missing)}" if missing else "",
                                     f"unknown {_fmt_set(extra)}" if extra else "") if p)
        return _verdict(False, "", f"The keys must be exactly the kernels of mmsim.KERNELS: {what}.")
    wrong = [kern for kern in KERNELS if not (_is_int(answer[kern]) and int(answer[kern]) == want[kern])]
    if not wrong:
        return _verdict(True, f"Right: k_whole({k}) lowers map_count by {k}, yet needs "
                              + ", ".join(f"{kern}: {want[kern]}" for kern in KERNELS) + " free slots.", "")
    return _verdict(False, "", f"Not quite: the value for {', '.join(wrong)} is wrong.")


def check_alt_fixes(answer: Any) -> bool:
    """06, exercise 3: the catalogue scenarios that 5.1 refuses needlessly (FALSE_POSITIVE) at some count of
    0-10 free slots but 5.1-alt never does."""
    from mmsim.scenarios import CATALOGUE

    df = _sweep(None, kernels=["5.1", "5.1-alt"], slacks=range(0, 11))
    fp = df[df["outcome"] == "FALSE_POSITIVE"]
    want = frozenset(fp.loc[fp["kernel"] == "5.1", "scenario"]) - frozenset(fp.loc[fp["kernel"] == "5.1-alt",
                                                                                   "scenario"])
    return _check_str_set(answer, want, "Right: the exact prediction removes 5.1's false positives in {}.",
                          "a set of scenario names, e.g. {'seed-W'}", CATALOGUE)


# ---- 07-after-2019 ---------------------------------------------------------------------------------


def check_v71_grow_refusals(answer: Any) -> bool:
    """07, exercise 1: the set of free-slot counts from 0 to 8 at which kernel 7.1 refuses the
    ``grow-in-place`` scenario (any outcome other than OK)."""
    df = _sweep("grow-in-place", kernels="7.1", slacks=range(0, 9))
    want = frozenset(int(s) for s in df.loc[df["outcome"] != "OK", "slack"])
    return _check_int_set(answer, want, "free-slot count(s)",
                          "Right: 7.1 refuses a grow in place, which adds no VMA, at {} free slots.",
                          "a set of free-slot counts, e.g. {1, 2}")


def check_multi_vma_partial(answer: Any) -> bool:
    """07, exercise 2: a dict ``{"6.18": set, "7.1": set}`` of the free-slot counts from 0 to 10 at which the
    ``multi-vma`` scenario fails half-way (``PARTIAL_FAIL``) under each kernel."""
    shape = 'a dict {"6.18": set of free-slot counts, "7.1": set of free-slot counts}'
    if _missing_answer(answer):
        return _no_answer(shape)
    if not isinstance(answer, Mapping) or {str(k) for k in answer} != {"6.18", "7.1"}:
        return _verdict(False, "", f"Expected {shape}.")
    wrong = []
    for kern in ("6.18", "7.1"):
        want = _slacks_with("multi-vma", kern, range(0, 11), "PARTIAL_FAIL")
        got = _int_set(answer[kern])
        if got != want:
            wrong.append(kern if got is None else f"{kern} ({_set_feedback(got, want, 'count(s)')})")
    if not wrong:
        return _verdict(True, "Right: each kernel can stop part way through a multi-VMA move, at different counts.",
                        "")
    return _verdict(False, "", "Not quite: " + "; ".join(wrong) + ".")


def check_changed_at_slack(answer: Any, slack: int = 4) -> bool:
    """07, exercise 3: the catalogue scenarios whose outcome class differs between 6.18 and 7.1 when the
    process has ``slack`` free slots."""
    from mmsim.scenarios import CATALOGUE

    df = _sweep(None, kernels=["6.18", "7.1"], slacks=[slack])
    t = df.pivot(index="scenario", columns="kernel", values="outcome")
    want = frozenset(t.index[t["6.18"] != t["7.1"]])
    return _check_str_set(answer, want, f"Right: with {slack} free slots, 6.18 and 7.1 differ on {{}}.",
                          "a set of scenario names, e.g. {'seed-W'}", CATALOGUE)


# ---- 08-live-kernel-lab ----------------------------------------------------------------------------


def check_live_prediction(answer: Any, scenario: str = "seed-S", kernel: str = "6.18",
                          slacks: tuple[int, ...] = (5, 6)) -> bool:
    """08, exercise 1: predict with the model what the kernel returns for ``scenario`` at each of ``slacks``
    free slots: a dict ``{free slots: errno name such as "ENOMEM", or "OK"}``."""
    shape = "a dict {free slots: 'OK' or an errno name such as 'ENOMEM'}, keys " + ", ".join(map(str, slacks))
    if _missing_answer(answer):
        return _no_answer(shape)
    if not isinstance(answer, Mapping) or {int(k) if _is_int(k) else k for k in answer} != set(slacks):
        return _verdict(False, "", f"Expected {shape}.")
    df = _sweep(scenario, kernels=kernel, slacks=list(slacks))
    want = {int(sl): ("OK" if outcome == "OK" else err) for sl, outcome, err in zip(df["slack"], df["outcome"],
                                                                                   df["errno"], strict=True)}
    got = {int(k): v for k, v in answer.items()}
    wrong = [s for s in slacks if not isinstance(got[s], str) or got[s].strip().upper() != want[s]]
    if not wrong:
        return _verdict(True, "Right: " + ", ".join(f"{s} free slots -> {want[s]}" for s in slacks)
                        + ". The kernel returns only the errno: whether a refusal was needless, only the model"
                          " can tell.", "")
    return _verdict(False, "", f"Not quite: the prediction for {', '.join(map(str, wrong))} free slots is wrong.")


def check_fail_at_slack(answer: Any, slack: int = 4, kernel: str = "6.18") -> bool:
    """08, exercise 2: the catalogue's mremap scenarios that do not succeed under ``kernel`` when the
    process has only ``slack`` free slots (any outcome other than OK)."""
    from mmsim.scenarios import CATALOGUE

    names = [n for n, sc in CATALOGUE.items() if sc.op == "mremap"]
    df = _sweep(names, kernels=kernel, slacks=[slack])
    want = frozenset(df.loc[df["outcome"] != "OK", "scenario"])
    return _check_str_set(answer, want, f"Right: with {slack} free slots, {kernel} refuses {{}}.",
                          "a set of scenario names, e.g. {'seed-W'}", names)


def check_profile_for_release(answer: Any) -> bool:
    """08, exercise 3: for each release string of :data:`EXERCISE_RELEASES`, the mmsim profile that models it, or
    ``None`` when no profile does: a dict ``{release: profile name or None}``."""
    from mmsim.live import profile_for_release

    shape = "a dict {release string: profile name or None} with one entry per release listed"
    if _missing_answer(answer):
        return _no_answer(shape)
    if not isinstance(answer, Mapping) or set(answer) != set(EXERCISE_RELEASES):
        return _verdict(False, "", f"Expected {shape}.")
    want = {r: profile_for_release(r) for r in EXERCISE_RELEASES}
    wrong = [r for r in EXERCISE_RELEASES if answer[r] != want[r]]
    if not wrong:
        covered = sum(v is not None for v in want.values())
        return _verdict(True, f"Right: {covered} of the {len(EXERCISE_RELEASES)} releases are modelled by a profile.",
                        "")
    return _verdict(False, "", f"Not quite: check {', '.join(wrong)} (see the profile table in docs/semantics.md §0).")
