"""The capstone (notebook 09): build your own early check, plug it into 5.0, and measure its trade-off.

A check of your own is a predicate ``predicate(ctx) -> (fails, text)`` over a
:class:`~mmsim.checks.CheckContext` (``map_count``, ``max_map_count``, ``free_slots``, the address space
``mm`` and the mremap call ``args``). :func:`own_profile` wraps it as an anticipatory
:class:`~mmsim.checks.Check` at the hook ``"mremap_to"`` of a profile derived from 5.0 (where 5.1's fix sits,
semantics §3.5.1 F3a), keeping 5.0's ``move_vma_limit``. :func:`capstone_sweep` classifies it next to the
course's profiles over :func:`capstone_scenarios`, and the checks below judge it:

* :func:`check_reproduces_51` (exercise 1): the predicate behaves exactly like 5.1's ``mremap_early``;
* :func:`check_own_check` (exercise 2): the profile leaves no partial state through the map count and refuses
  fewer calls needlessly than 5.1;
* :func:`check_frontier` (exercise 3): which profiles no other one beats on both rates.

Every expected value is computed by a sweep when the check runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pandas as pd

from ..checks import ANTICIPATORY, HOOKS, Check, CheckContext
from ..deprecation import renamed_arguments
from ..profiles import PROFILES, Profile
from ..scenarios import CATALOGUE, Scenario, random_scenarios
from .feedback import Feedback, Hint, as_str_set, judge

__all__ = [
    "CAPSTONE_KERNELS",
    "CAPSTONE_FREE_SLOTS",
    "FLOW_GRID",
    "compare",
    "flow_grid",
    "tradeoff_verdicts",
    "capstone_scenarios",
    "capstone_sweep",
    "check_frontier",
    "check_own_check",
    "check_reproduces_51",
    "frontier",
    "own_profile",
    "what_a_check_sees",
]

#: The profiles the capstone compares a learner's profile with, all on 5.0's mremap flow (unmap, then validate),
#: where a learner's check is plugged in too: 5.0, 5.1, 5.1-alt, 7.1's thresholds on that flow
#: (``7.1-on-5.0``, :data:`mmsim.profiles.VARIANTS`) and ideal, the frontier of the plot.
CAPSTONE_KERNELS: tuple[str, ...] = ("5.0", "5.1", "5.1-alt", "7.1-on-5.0", "ideal")
#: The thresholds-against-flow comparison of the capstone: 5.1's and 7.1's thresholds, each on 5.0's flow and on
#: the 6.17+ flow that validates first (6.18 has 5.1's thresholds on it, 7.1 its own).
FLOW_GRID: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "5.1's thresholds": MappingProxyType({"5.x flow (unmap, then validate)": "5.1",
                                          "6.17+ flow (validate first)": "6.18"}),
    "7.1's thresholds": MappingProxyType({"5.x flow (unmap, then validate)": "7.1-on-5.0",
                                          "6.17+ flow (validate first)": "7.1"}),
})
#: Free slots of the capstone's sweeps.
CAPSTONE_FREE_SLOTS = range(0, 11)
#: Random scenarios added to the catalogue's mremap calls, and their seed (the seed of notebook 06).
CAPSTONE_RANDOM = 30
CAPSTONE_SEED = 2019

Predicate = Callable[[CheckContext], Any]


def capstone_scenarios(n_random: int = CAPSTONE_RANDOM, seed: int = CAPSTONE_SEED) -> list[Scenario]:
    """The catalogue's mremap scenarios plus ``n_random`` random mremap calls (deterministic for ``seed``).

    >>> names = [s.name for s in capstone_scenarios(2)]
    >>> "seed-W" in names, "mprotect-3way" in names, names[-1]
    (True, False, 'random-2019-1')
    """
    return [sc for sc in CATALOGUE.values() if sc.op == "mremap"] + random_scenarios(n_random, seed)


def own_profile(predicate: Predicate | Check | Profile, name: str = "mine", *, hook: str = "mremap_to") -> Profile:
    """A profile built on 5.0 with ``predicate`` as an anticipatory check at ``hook`` (default ``"mremap_to"``,
    where 5.1's check sits) and 5.0's ``move_vma_limit`` kept. A :class:`Check` is used as it is; a
    :class:`Profile` is returned unchanged.

    >>> p = own_profile(lambda ctx: (ctx.free_slots < 6, f"{ctx.free_slots} < 6"), "like-5.1")
    >>> p.name, [c.name for c in p.checks_at("mremap_to")], [c.name for c in p.checks_at("move_vma")]
    ('like-5.1', ['like-5.1_early'], ['move_vma_limit'])
    """
    if isinstance(predicate, Profile):
        return predicate
    if hook not in HOOKS:
        raise ValueError(f"unknown hook {hook!r}; choose one of {', '.join(HOOKS)}")
    check = predicate if isinstance(predicate, Check) else Check(
        f"{name}_early", ANTICIPATORY, "your own check (notebook 09)", "your predicate", None,
        "an early check written in the capstone", predicate=predicate)
    checks: dict[str, list[str | Check]] = {hook: [check], "move_vma": ["move_vma_limit"]}
    if hook == "move_vma":
        checks = {"move_vma": [check, "move_vma_limit"]}
    return PROFILES["5.0"].derive(name, checks=checks,
                                  description=f"5.0 with the check {check.name!r} at {hook}")


@renamed_arguments(slacks="free_slots")
def capstone_sweep(*extra: Profile | str, kernels: Sequence[str] = CAPSTONE_KERNELS,
                   scenarios: Iterable[Scenario] | None = None,
                   free_slots: Iterable[int] = CAPSTONE_FREE_SLOTS) -> pd.DataFrame:
    """:func:`mmsim.experiments.sweep_profiles` of ``kernels`` plus ``extra`` profiles over
    :func:`capstone_scenarios` (or ``scenarios``) and ``free_slots``."""
    from ..experiments import sweep_profiles

    scs = capstone_scenarios() if scenarios is None else list(scenarios)
    return sweep_profiles([*kernels, *extra], scs, free_slots=free_slots)


def frontier(table: pd.DataFrame, exclude: Iterable[str] = ("ideal",)) -> frozenset[str]:
    """The profiles of a :func:`~mmsim.experiments.tradeoff_table` that no other one dominates: none has both a
    lower-or-equal partial-failure rate and a lower-or-equal false-positive rate, one of them strictly lower.
    Profiles in ``exclude`` take no part (by default ``ideal``, which dominates every real check).

    >>> t = pd.DataFrame({"partial_failure_rate": [0.2, 0.0, 0.1, 0.1], "false_positive_rate": [0.0, 0.3, 0.1, 0.2]},
    ...                  index=["a", "b", "c", "d"])
    >>> sorted(frontier(t))
    ['a', 'b', 'c']
    """
    rows = table.drop(index=[k for k in exclude if k in table.index])
    pts = {k: (float(r["partial_failure_rate"]), float(r["false_positive_rate"])) for k, r in rows.iterrows()}

    def dominated(k: str) -> bool:
        x, y = pts[k]
        return any(ox <= x and oy <= y and (ox < x or oy < y) for o, (ox, oy) in pts.items() if o != k)

    return frozenset(str(k) for k in pts if not dominated(str(k)))


def _rates(table: pd.DataFrame, name: str) -> tuple[float, float]:
    row = table.loc[name]
    return float(row["partial_failure_rate"]) * 100, float(row["false_positive_rate"]) * 100


def compare(table: pd.DataFrame, a: str, b: str) -> str:
    """One sentence, computed from a :func:`~mmsim.experiments.tradeoff_table`: whether profile ``a`` beats
    ``b`` (no worse on either rate, better on one), ``b`` beats ``a``, or each is better on one (rates in %, two
    decimals).

    >>> t = pd.DataFrame({"partial_failure_rate": [0.01, 0.02], "false_positive_rate": [0.1, 0.2]},
    ...                  index=["a", "b"])
    >>> compare(t, "b", "a").split(": ")[0]
    'a beats b (no worse on either axis, better on one)'
    >>> compare(t, "a", "b").split(": ")[1]
    'half-way 1.00 % against 2.00 %, needless refusals 10.00 % against 20.00 %'
    """
    (ax, ay), (bx, by) = _rates(table, a), _rates(table, b)
    if (bx, by) != (ax, ay) and bx <= ax and by <= ay:
        a, b, (ax, ay), (bx, by) = b, a, (bx, by), (ax, ay)
    if (ax, ay) == (bx, by):
        return f"{a} and {b} tie: half-way {ax:.2f} %, needless refusals {ay:.2f} %"
    if ax <= bx and ay <= by:
        return (f"{a} beats {b} (no worse on either axis, better on one): half-way {ax:.2f} % against "
                f"{bx:.2f} %, needless refusals {ay:.2f} % against {by:.2f} %")
    lower_x, lower_y = (a, b) if ax < bx else (b, a)
    return (f"neither beats the other: {lower_x} fails half-way less ({min(ax, bx):.2f} % against "
            f"{max(ax, bx):.2f} %), {lower_y} refuses needlessly less ({min(ay, by):.2f} % against "
            f"{max(ay, by):.2f} %)")


def tradeoff_verdicts(table: pd.DataFrame, exclude: Iterable[str] = ("ideal",), *,
                      with_frontier: bool = True) -> list[str]:
    """What a trade-off table says, as sentences computed from its rates: which profile fails half-way most and
    least, which refuses needlessly most and least, and (``with_frontier``) the :func:`frontier`; ``exclude``
    left out. Notebook 09 prints it without the frontier before exercise 3, whose answer that is.

    >>> t = pd.DataFrame({"partial_failure_rate": [0.2, 0.0, 0.1], "false_positive_rate": [0.0, 0.3, 0.4]},
    ...                  index=["a", "b", "c"])
    >>> for line in tradeoff_verdicts(t): print(line)
    fails half-way most: a (20.00 %); least: b (0.00 %)
    refuses needlessly most: c (40.00 %); least: a (0.00 %)
    no other profile beats on both axes: a, b
    """
    rows = table.drop(index=[k for k in exclude if k in table.index])
    x = rows["partial_failure_rate"].astype(float) * 100
    y = rows["false_positive_rate"].astype(float) * 100
    lines = [
        f"fails half-way most: {x.idxmax()} ({x.max():.2f} %); least: {x.idxmin()} ({x.min():.2f} %)",
        f"refuses needlessly most: {y.idxmax()} ({y.max():.2f} %); least: {y.idxmin()} ({y.min():.2f} %)",
    ]
    if with_frontier:
        lines.append("no other profile beats on both axes: " + ", ".join(k for k in rows.index
                                                                          if k in frontier(rows, ())))
    return lines


def flow_grid(table: pd.DataFrame) -> pd.DataFrame:
    """The rates (in %) of :data:`FLOW_GRID`'s four profiles from a trade-off table that has them: one row per
    pair of thresholds, one column per flow, each cell ``"half-way % / needless %"``."""
    out = {flow: {th: "{:.2f} / {:.2f}".format(*_rates(table, row[flow])) for th, row in FLOW_GRID.items()}
           for flow in next(iter(FLOW_GRID.values()))}
    return pd.DataFrame(out).rename_axis("half-way % / needless %")


@renamed_arguments(slack="free_slots")
def what_a_check_sees(scenario: Scenario | str, free_slots: int, max_map_count: int | None = None) -> CheckContext:
    """The :class:`~mmsim.checks.CheckContext` an early check at ``"mremap_to"`` gets for a scenario's call
    with ``free_slots`` free slots: ``map_count``, ``max_map_count``, ``free_slots``, ``args`` (the mremap call,
    lengths page-aligned) and ``mm`` (the address space before any unmap). Runs the call on a 5.0-based
    profile with a check that only records what it sees; nothing is changed.

    >>> ctx = what_a_check_sees("seed-W", 3)
    >>> ctx.free_slots, ctx.args.old_len // 4096, ctx.args.new_len // 4096
    (3, 6, 3)
    """
    from ..constants import DEFAULT_MAX_MAP_COUNT
    from ..outcome import classify
    from ..scenarios import get

    seen: list[CheckContext] = []

    def spy(ctx: CheckContext) -> tuple[bool, str]:
        seen.append(ctx)
        return False, "records what it sees"

    sc = get(scenario)
    if sc.op != "mremap":
        raise ValueError(f"scenario {sc.name!r} is a {sc.op}, not an mremap: no early check runs")
    mx = DEFAULT_MAX_MAP_COUNT if max_map_count is None else max_map_count
    mm = sc.setup(own_profile(spy, "spy"), mx, free_slots)  # type: ignore[arg-type]
    classify(mm, sc.op, *sc.args, trace=False)
    if not seen:
        raise ValueError(f"the call of {sc.name!r} never reaches mremap_to (it is not a MREMAP_FIXED move)")
    return seen[0]


# ---- running a learner's predicate safely ---------------------------------------------------------------


class _PredicateError(Exception):
    """The learner's predicate raised or returned something that is not ``(fails, text)``."""


def _guarded(predicate: Predicate) -> Predicate:
    def run(ctx: CheckContext) -> tuple[bool, str]:
        try:
            out = predicate(ctx)
        except Exception as e:
            raise _PredicateError(f"your predicate raised {type(e).__name__}: {e}") from e
        if isinstance(out, bool):
            raise _PredicateError("your predicate returned a bare bool: return a pair (fails, text), e.g. "
                                  "(ctx.free_slots < 6, 'free < 6')")
        if not (isinstance(out, tuple) and len(out) == 2):
            raise _PredicateError(f"your predicate returned {out!r}: return a pair (fails, text)")
        return bool(out[0]), str(out[1])

    return run


def _as_profile(answer: Any, name: str) -> tuple[Profile | None, Feedback | None]:
    """The learner's answer (a predicate, a Check or a Profile) as a profile with guarded predicates."""
    if answer is None or answer is Ellipsis:
        return None, Feedback(False, "No answer yet: define your predicate (or profile) and pass it to the check.",
                              "no_answer")
    if isinstance(answer, Profile):
        checks = {hook: [Check(c.name, c.kind, c.mirrors, c.expr, c.slots, c.summary,
                               predicate=_guarded(c.predicate)) if c.predicate is not None else c
                         for c in answer.checks_at(hook)]
                  for hook in answer.checks}
        return answer.derive(answer.name, checks=checks), None
    if isinstance(answer, Check):
        if answer.predicate is None:
            return own_profile(answer, name), None
        return own_profile(Check(answer.name, ANTICIPATORY, answer.mirrors, answer.expr, answer.slots, answer.summary,
                                 predicate=_guarded(answer.predicate)), name), None
    if callable(answer):
        return own_profile(_guarded(answer), name), None
    return None, Feedback(False, f"Expected a predicate function, a Check or a Profile, got {type(answer).__name__}.",
                          "bad_shape")


def _sweep_guarded(profile: Profile, kernels: Sequence[str], **kw: Any) -> tuple[pd.DataFrame | None, Feedback | None]:
    try:
        return capstone_sweep(profile, kernels=kernels, **kw), None
    except _PredicateError as e:
        return None, Feedback(False, f"{e}.", "predicate_error")


def _cases(rows: pd.DataFrame, limit: int = 3) -> str:
    shown = [f"{r.scenario} at {r.free_slots} free slots" for r in rows.head(limit).itertuples()]
    more = len(rows) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# ---- exercise 1: reproduce 5.1 --------------------------------------------------------------------------


def check_reproduces_51(answer: Any) -> Feedback:
    """09, exercise 1: a predicate that refuses exactly where 5.1's ``mremap_early`` does
    (``(map_count + 2) >= max_map_count - 3``). Plugged into 5.0 at ``mremap_to``, every case of the capstone
    sweep must get 5.1's outcome, errno and map_count."""
    profile, bad = _as_profile(answer, "like-5.1")
    if bad is not None:
        return bad
    assert profile is not None
    df, bad = _sweep_guarded(profile, kernels=("5.0", "5.1"))
    if bad is not None:
        return bad
    assert df is not None
    cols = ["scenario", "free_slots", "outcome", "errno", "mc_after"]
    def rows(kernel: str) -> pd.DataFrame:  # errno is None on success: compare as text
        return df[df["kernel"] == kernel][cols].fillna("").astype(str).reset_index(drop=True)

    mine, ref, old = rows(profile.name), rows("5.1"), rows("5.0")
    differ = (mine != ref).any(axis=1)
    if not differ.any():
        return Feedback(True, f"Right: your check gives 5.1's outcome in all {len(mine)} cases: it is the 2019 fix.",
                        "right")
    if mine.equals(old):
        return Feedback(False, "Your check never refuses anything: these are 5.0's outcomes, bug included. It should "
                               "refuse whenever move_vma's check (map_count >= max_map_count - 3) would fail once "
                               "the two unmaps have each added a VMA.", "never_fails")
    own_names = set(profile.a_checks) - {"move_vma_limit"}
    mine_full = df[df["kernel"] == profile.name].reset_index(drop=True)
    ref_full = df[df["kernel"] == "5.1"].reset_index(drop=True)
    refused_mine = mine_full["check"].isin(own_names)
    refused_ref = ref_full["check"].eq("mremap_early")
    stricter = refused_mine & ~refused_ref
    looser = refused_ref & ~refused_mine
    bad_rows = mine_full[differ]
    free_slots = sorted({int(v) for v in bad_rows["free_slots"]})
    if stricter[differ].all() and free_slots == [6]:
        return Feedback(False, "Off by one, too strict: 5.1 lets the call through at 6 free slots. `>=` vs `>`: "
                               "(map_count + 2) >= max_map_count - 3 is false there.", "off_by_one_strict")
    if looser[differ].all() and free_slots == [5]:
        return Feedback(False, "Off by one, too lenient: at 5 free slots 5.1 refuses, since "
                               "(map_count + 2) >= max_map_count - 3 holds exactly there.", "off_by_one_lenient")
    if stricter[differ].all():
        return Feedback(False, f"Too strict: it refuses where 5.1 does not, e.g. {_cases(bad_rows)}.", "too_strict")
    if looser[differ].all():
        return Feedback(False, f"Too lenient: it lets calls through that 5.1 refuses, e.g. {_cases(bad_rows)}.",
                        "too_lenient")
    return Feedback(False, f"It differs from 5.1 in {int(differ.sum())} cases, e.g. {_cases(bad_rows)}. Compare "
                           "your condition with 5.1's: (map_count + 2) >= max_map_count - 3.", "differs")


# ---- exercise 2: a better check --------------------------------------------------------------------------


def check_own_check(answer: Any) -> Feedback:
    """09, exercise 2: your own early check (a predicate, a Check or a profile made with :func:`own_profile` or
    ``PROFILES["5.0"].derive``), judged on the capstone sweep. It must

    1. leave no partial state through the map count: no PARTIAL_FAIL with ENOMEM (what 5.1's fix removed,
       semantics §5 row 1; partial failures from validations after the unmaps, row 2, are reported, not
       counted against it), and
    2. refuse fewer calls needlessly (FALSE_POSITIVE) than 5.1 does.
    """
    profile, bad = _as_profile(answer, answer.name if isinstance(answer, Profile) else "mine")
    if bad is not None:
        return bad
    assert profile is not None
    if "move_vma_limit" not in profile.a_checks:
        return Feedback(False, "Your profile has no move_vma_limit: derive(checks=...) replaces every check, so keep "
                               "\"move_vma\": [\"move_vma_limit\"] next to yours (the fix adds a check, it does not "
                               "remove move_vma's).", "dropped_move_check")
    own = [c for hook in profile.checks for c in profile.checks_at(hook) if c.name != "move_vma_limit"]
    if not own:
        return Feedback(False, "Your profile has no check of its own: it is 5.0, bug included.", "no_check")
    if not profile.checks_at("mremap_to"):
        hooks = sorted(h for h in profile.checks if any(c in own for c in profile.checks_at(h)))
        return Feedback(False, f"Your check sits at {', '.join(hooks)}; an early check must run at \"mremap_to\", "
                               "before the first unmap (semantics §3.5.1 F3a).", "wrong_hook")
    df, bad = _sweep_guarded(profile, kernels=("5.1",))
    if bad is not None:
        return bad
    assert df is not None
    mine = df[df["kernel"] == profile.name]
    ref = df[df["kernel"] == "5.1"]
    enomem_partial = mine[(mine["outcome"] == "PARTIAL_FAIL") & (mine["errno"] == "ENOMEM")]
    fp_mine = int((mine["outcome"] == "FALSE_POSITIVE").sum())
    fp_ref = int((ref["outcome"] == "FALSE_POSITIVE").sum())
    partial_other = int(((mine["outcome"] == "PARTIAL_FAIL") & (mine["errno"] != "ENOMEM")).sum())
    partial_other_ref = int(((ref["outcome"] == "PARTIAL_FAIL") & (ref["errno"] != "ENOMEM")).sum())
    if len(enomem_partial):
        where = sorted(set(enomem_partial["check"].dropna()))
        return Feedback(False, f"Your check lets {len(enomem_partial)} call(s) fail half-way on the map count "
                               f"({', '.join(where)}), e.g. {_cases(enomem_partial)}: it must refuse whenever the "
                               "unmaps may leave move_vma fewer than the free slots it needs.", "partial_state")
    if fp_mine >= fp_ref:
        return Feedback(False, f"Safe, but not better: {fp_mine} needless refusals against 5.1's {fp_ref}. Which "
                               "calls does 5.1's worst case (+2) overestimate? The unmaps add a VMA only when they "
                               "punch a hole.", "not_better")
    note = (f" It admits {partial_other - partial_other_ref} more call(s) that fail a validation after the unmaps "
            f"({partial_other} against 5.1's {partial_other_ref}): the price Vlastimil Babka pointed out in 2019."
            if partial_other > partial_other_ref else "")
    return Feedback(True, f"Right: no partial state through the map count, and {fp_mine} needless refusals against "
                          f"5.1's {fp_ref} ({fp_mine - fp_ref:+d}).{note}", "right")


# ---- exercise 3: the frontier ----------------------------------------------------------------------------


def check_frontier(answer: Any, mine: Any = None) -> Feedback:
    """09, exercise 3: the set of profiles (among 5.0, 5.1, 5.1-alt, 7.1 and ``mine``, if given) that no other
    of them beats on both rates of the trade-off plot (:func:`frontier`; ``ideal`` excluded)."""
    from ..experiments import tradeoff_table

    kernels = tuple(k for k in CAPSTONE_KERNELS if k != "ideal")
    profile: Profile | None = None
    if mine is not None:
        profile, bad = _as_profile(mine, mine.name if isinstance(mine, Profile) else "mine")
        if bad is not None:
            return bad
    if profile is not None:
        df, bad = _sweep_guarded(profile, kernels=kernels)
        if bad is not None:
            return bad
        assert df is not None
    else:
        df = capstone_sweep(kernels=kernels)
    table = tradeoff_table(df)
    want = frontier(table)
    names = set(table.index)
    dominated = frozenset(names) - want

    allowed = names | {"ideal"}

    def norm(a: Any) -> frozenset[str] | None:
        got = as_str_set(a)
        return got if got is not None and got <= allowed else None

    given = as_str_set(answer)
    if given is not None and not given <= allowed:
        unknown = sorted(given - allowed)
        return Feedback(False, f"Not profiles of the plot: {', '.join(unknown)} (the plot has "
                               f"{', '.join(table.index)}).", "unknown_name")
    beaten = given & dominated if given is not None else frozenset()
    return judge(answer, want, norm, "a set of profile names, e.g. {'5.1'}",
                 f"Right: {sorted(want)}: no other profile beats any of these on both axes; the others are dominated.",
                 hints=[
        Hint(lambda g, w: "ideal" in g, "ideal", "ideal is left out: it dominates every real check by construction."),
        Hint(lambda g, w: bool(g & dominated), "dominated", f"{sorted(beaten)}: another profile is at least as good "
             "on both axes and better on one."),
    ], what="profile(s)")
