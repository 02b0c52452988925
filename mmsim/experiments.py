"""Sweeps: classify scenarios under every kernel profile and many free-slot counts, as a tidy DataFrame.

:func:`sweep` is the workhorse: one row per (scenario, kernel, free slots) with the outcome class of
:func:`mmsim.classify` (semantics §6). :func:`false_positive_rate`, :func:`partial_failure_rate` and
:func:`outcome_counts` summarise a sweep per kernel. :class:`Runner` classifies single cases at the full
``vm.max_map_count`` (65530) quickly, by caching padded address spaces: by free slots (the CLI) or, with
:meth:`Runner.at_limit`, in a process of a fixed map_count under a chosen ``vm.max_map_count`` (the widgets).

Why a sweep need not pad 65,530 filler VMAs per case: every map-count check of the model compares
``map_count`` with ``max_map_count`` plus a constant (``mc >= max``, ``mc + 2 >= max - 3``, ``mc + 4 > max``,
``mc > max`` ..., semantics §3) and the commit rule R3 compares ``mc_after`` with ``max`` and ``mc_before``
(§6). Filler VMAs lie far from every scenario. So a case depends on the free slots only: running it with
``max_map_count = R`` and shifting ``mc_before``, ``mc_after`` and ``peak`` by ``M - R`` gives exactly the
row of ``max_map_count = M``. ``sweep`` runs each scenario at a small ``R`` (its own VMAs plus the largest
free slots), pads once per (scenario, kernel) and then adds or removes one filler VMA per free slot.
``exact=True`` runs at the real size instead (slower; the tests check both agree).
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from .addrspace import AddressSpace
from .cases import Runner
from .constants import DEFAULT_MAX_MAP_COUNT
from .deprecation import renamed_arguments, renamed_module_names
from .outcome import OUTCOMES, Outcome, classify
from .parallel import PROGRESS_THRESHOLD, n_jobs_of, progress_bar, run_tasks
from .profiles import KERNELS, get_profile
from .scenarios import CATALOGUE, Scenario, get
from .sweepfile import sweep_metadata

__all__ = [
    "COLUMNS",
    "PROGRESS_THRESHOLD",
    "Runner",
    "false_positive_rate",
    "outcome_counts",
    "partial_failure_rate",
    "resolve_scenarios",
    "settled",
    "free_slots_table",
    "sweep",
]

#: The columns of a sweep, in order.
COLUMNS: tuple[str, ...] = (
    "scenario", "family", "kernel", "max_map_count", "free_slots", "outcome", "errno", "check", "where",
    "mc_before", "mc_after", "peak", "fp", "ideal_ok", "steps",
)


def resolve_scenarios(scenarios: Iterable[Scenario | str] | Scenario | str | None) -> list[Scenario]:
    """Scenarios from names and/or :class:`Scenario` objects; ``None`` = the whole catalogue.

    Raises KeyError (from :func:`mmsim.scenarios.get`) for an unknown name.
    """
    if scenarios is None:
        return list(CATALOGUE.values())
    if isinstance(scenarios, (str, Scenario)):
        scenarios = [scenarios]
    return [get(s) for s in scenarios]


def _kernels(kernels: Iterable[str] | str) -> list[str]:
    if isinstance(kernels, str):
        kernels = [kernels]
    out = [get_profile(k).name for k in kernels]  # ValueError names the choices
    if not out:
        raise ValueError("no kernels given")
    return out


def _ints(values: Iterable[int] | int, what: str) -> list[int]:
    if isinstance(values, int):
        values = [values]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{what} must be ints, got {v!r}")
        out.append(v)
    if not out:
        raise ValueError(f"no {what} given")
    return out


def _row(sc: Scenario, o: Outcome, nominal_max: int, free_slots: int, shift: int) -> tuple:
    """One sweep row; ``shift`` is added to every map_count of the outcome."""
    return (
        sc.name, sc.family, o.kernel, nominal_max, free_slots, str(o.kind),
        _errno.errorcode.get(o.errno) if o.errno else None, o.check, o.where,
        o.mc_before + shift, o.mc_after + shift, o.peak + shift, o.fp, o.ideal_ok, o.steps,
    )


def settled(o: Outcome) -> bool:
    """True when the same call with more free slots must give the same result, shifted.

    In the model only map-count checks depend on the count, and each fails only when ``map_count + c``
    reaches ``max_map_count`` (semantics §3; the ``ideal`` commit rule R3 likewise), so with more free slots a
    check that passed passes again. A call in which no check failed (not even a swallowed one) therefore
    takes the same path with one more free slot: same class, errno, check, deltas and steps. That settles

    * a success whose all-A-checks-off run also fits (``ideal_ok``; without it R3 might still flip), and
    * a failure at an argument validation (EFAULT, EINVAL, ...), where ``fp`` and ``ideal_ok`` are False
      at any count.

    :func:`sweep` reuses a settled outcome for the larger free-slot counts instead of classifying again.
    """
    if o.degraded or o.trace.any_failed_check():
        return False
    if o.kind == "OK":
        return o.ideal_ok
    fail = o.trace.failure
    return fail is not None and fail.kind == "validate" and not o.fp and not o.ideal_ok


@renamed_arguments(slacks="free_slots")
def sweep(
    scenarios: Iterable[Scenario | str] | Scenario | str | None = None,
    kernels: Iterable[str] | str = KERNELS,
    free_slots: Iterable[int] | int | None = None,
    max_map_counts: Iterable[int] | int | None = None,
    *,
    max_map_count: int = DEFAULT_MAX_MAP_COUNT,
    exact: bool = False,
    reuse: bool = True,
    progress: bool | None = None,
    n_jobs: int | None = None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Classify every scenario under every kernel for every free-slot count (or every max_map_count).

    Parameters
    ----------
    scenarios:
        Scenario objects or catalogue names; ``None`` = the whole catalogue.
    kernels:
        Profile names (default: all of :data:`mmsim.KERNELS`).
    free_slots:
        Free slots before the call (``max_map_count - map_count``; -1 allowed). Default ``range(0, 17)``.
        The process is padded with filler VMAs to ``map_count = max_map_count - free_slots``.
    max_map_counts:
        Instead of ``free_slots``: values of ``vm.max_map_count`` for the scenario's layout alone (no filler),
        as if the sysctl were changed under a small process; ``free_slots`` is then ``max - (layout VMAs)`` and
        may be negative. Give ``free_slots`` or ``max_map_counts``, not both.
    max_map_count:
        The ``vm.max_map_count`` the free-slots rows stand for (default 65530). See the module docstring for
        why the rows are exact without padding that many VMAs; ``exact=True`` pads them for real.
    reuse:
        Reuse a :func:`settled` outcome for larger free-slot counts instead of classifying again (exact: see
        :func:`settled`; ``False`` classifies every case, the tests check both agree).
    progress:
        tqdm progress bar: ``None`` = only for more than :data:`PROGRESS_THRESHOLD` cases.
    n_jobs:
        Worker processes (joblib): ``None``/1 runs serially, N uses N processes, -1 every core. The result
        is identical to the serial run (each worker classifies whole (scenario, kernel) columns, and the
        rows are put back in order). Columns go to the workers in chunks (:mod:`mmsim.parallel`).
    scheduler:
        Run on a Dask cluster instead: a ``distributed.Client`` or a scheduler address such as
        ``"tcp://10.0.0.5:8786"`` (``docs/studies.md``). The same frame as the serial run; not with
        ``n_jobs``.

    Returns
    -------
    DataFrame with :data:`COLUMNS`, one row per (scenario, kernel, free slots or max_map_count), ordered by
    scenario (as given), kernel (as given), then free slots / max_map_count (as given). Deterministic.
    ``df.attrs["mmsim"]`` holds what the rows stand for (:func:`mmsim.sweepfile.sweep_metadata`: the
    parameters, and each profile's releases, features and checks); ``df.to_parquet(path)`` keeps it and
    :func:`mmsim.read_sweep` loads and checks it.

    Raises ValueError for bad kernels or free slots, or free slots the layout cannot have; KeyError for an unknown
    scenario name.

    >>> import mmsim
    >>> df = mmsim.sweep(["fixed-whole-free"], kernels=["5.0", "5.1"], free_slots=[4, 6])
    >>> list(df.itertuples(index=False, name=None))[0][:6]
    ('fixed-whole-free', 'fixed', '5.0', 65530, 4, 'OK')
    >>> [(k, s, o) for k, s, o in zip(df["kernel"], df["free_slots"], df["outcome"])]
    [('5.0', 4, 'OK'), ('5.0', 6, 'OK'), ('5.1', 4, 'FALSE_POSITIVE'), ('5.1', 6, 'OK')]
    """
    scs = resolve_scenarios(scenarios)
    ks = _kernels(kernels)
    if free_slots is not None and max_map_counts is not None:
        raise ValueError("give free_slots or max_map_counts, not both")
    jobs = n_jobs_of(n_jobs)
    if scheduler is not None and jobs != 1:
        raise ValueError("give n_jobs or scheduler, not both")
    tasks = [(sc, k) for sc in scs for k in ks]
    if max_map_counts is not None:
        mxs = _ints(max_map_counts, "max_map_counts")
        if min(mxs) < 0:
            raise ValueError(f"max_map_count must be >= 0, got {min(mxs)}")
        df = _frame(run_tasks(_sweep_max, tasks, (mxs,), len(mxs), n_jobs=jobs, scheduler=scheduler,
                              progress=progress))
        df.attrs["mmsim"] = sweep_metadata(ks, axis="max_map_count", values=mxs, exact=False)
        return df
    sl = _ints(range(0, 17) if free_slots is None else free_slots, "free_slots")
    if min(sl) < -1:
        raise ValueError(f"free slots must be >= -1 (mmap lets map_count reach max_map_count + 1), got {min(sl)}")
    for sc in scs:  # refuse impossible free slots before any work
        layout = sc.layout_vmas
        if max_map_count - max(sl) < layout:
            raise ValueError(f"scenario {sc.name!r} has {layout} VMAs: it cannot have {max(sl)} free slots under "
                             f"max_map_count={max_map_count}")
    df = _frame(run_tasks(_sweep_free_slots, tasks, (sl, max_map_count, exact, reuse), len(sl), n_jobs=jobs,
                          scheduler=scheduler, progress=progress))
    df.attrs["mmsim"] = sweep_metadata(ks, axis="free_slots", values=sl, max_map_count=max_map_count, exact=exact)
    return df


def _sweep_max(sc: Scenario, k: str, mxs: list[int]) -> list[tuple]:
    """One (scenario, kernel) of a sweep over max_map_count values: the layout alone, no filler."""
    mm = sc.build(k, mxs[0])
    rows = []
    for m in mxs:
        mm.max_map_count = m
        o = classify(mm, sc.op, *sc.args, trace=False)
        rows.append(_row(sc, o, m, m - o.mc_before, 0))
    return rows


def _sweep_free_slots(sc: Scenario, k: Any, sl: list[int], max_map_count: int, exact: bool, reuse: bool) -> list[tuple]:
    """One (scenario, kernel) of a sweep over free slots (see the module docstring for the small-max trick).

    ``k`` is a profile name or a :class:`~mmsim.profiles.Profile` (a derived one too)."""
    order = sorted(set(sl))  # most filler first: each step removes filler VMAs, or reuses a settled outcome
    if exact:
        runner = _exact_runner()
        exact_rows = {s: runner.run(sc, k, s, max_map_count, trace=False) for s in order}
        return [_row(sc, exact_rows[s], max_map_count, s, 0) for s in sl]
    mm = sc.build(k, max_map_count) if isinstance(k, str) else _build(sc, k, max_map_count)
    layout = mm.map_count
    small = min(max_map_count, layout + max(max(sl), 0) + 1)
    mm.max_map_count = small
    shift = max_map_count - small
    got: dict[int, tuple[Outcome, int]] = {}
    last: tuple[int, Outcome] | None = None
    for s in order:
        if reuse and last is not None and settled(last[1]):
            got[s] = (last[1], shift - (s - last[0]))
            continue
        mm.set_free_slots(s)
        o = classify(mm, sc.op, *sc.args, trace=False)
        got[s], last = (o, shift), (s, o)
    return [_row(sc, got[s][0], max_map_count, s, got[s][1]) for s in sl]


_EXACT: list[Runner] = []


def _exact_runner() -> Runner:
    """The Runner of this process's exact sweeps: its filler template (~65k VMAs, a third of a second) is
    padded once per process and ``max_map_count``, not once per (scenario, kernel) column."""
    if not _EXACT:
        _EXACT.append(Runner(maxsize=2))
    return _EXACT[0]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    for col in ("max_map_count", "free_slots", "mc_before", "mc_after", "peak", "steps"):
        df[col] = df[col].astype("int64")
    for col in ("fp", "ideal_ok"):
        df[col] = df[col].astype(bool)
    return df


# ---- summaries ---------------------------------------------------------------------------------


def _order(index: Iterable[Any], by: str) -> list[Any]:
    present = list(dict.fromkeys(index))
    if by == "kernel":
        known = [k for k in KERNELS if k in present]
        return known + [k for k in present if k not in known]
    return present


def _check_frame(df: pd.DataFrame, by: str) -> None:
    missing = {"outcome", by} - set(df.columns)
    if missing:
        raise ValueError(f"not a sweep frame: missing column(s) {', '.join(sorted(missing))}")


def outcome_counts(df: pd.DataFrame, by: str = "kernel") -> pd.DataFrame:
    """Number of cases of each outcome class per ``by`` (default: kernel), columns in :data:`OUTCOMES` order,
    rows in :data:`mmsim.KERNELS` order (missing classes count 0), plus a ``total`` column."""
    _check_frame(df, by)
    counts = pd.crosstab(df[by], df["outcome"])
    counts = counts.reindex(index=_order(df[by], by), columns=list(OUTCOMES), fill_value=0).astype("int64")
    counts["total"] = counts.sum(axis=1)
    counts.columns.name = "outcome"
    return counts


def _rate(mask: pd.Series, df: pd.DataFrame, by: str, name: str) -> pd.Series:
    out = mask.groupby(df[by], sort=False).mean()
    out = out.reindex(_order(df[by], by)).astype(float)
    out.name = name
    out.index.name = by
    return out


def false_positive_rate(df: pd.DataFrame, by: str = "kernel", *, include_partial: bool = False) -> pd.Series:
    """Share of cases refused needlessly, per ``by`` (default: kernel; KERNELS order).

    A case counts when its outcome is ``FALSE_POSITIVE`` (an anticipatory check refused a call that would
    have completed within the limits, with nothing changed; semantics §6). With ``include_partial`` a
    ``PARTIAL_FAIL`` whose reference run fits (``fp`` True: 5.0's move check after the unmaps) counts too.
    """
    _check_frame(df, by)
    mask = df["outcome"].eq("FALSE_POSITIVE")
    if include_partial:
        mask = mask | (df["outcome"].eq("PARTIAL_FAIL") & df["fp"].astype(bool))
    return _rate(mask, df, by, "false_positive_rate")


def partial_failure_rate(df: pd.DataFrame, by: str = "kernel") -> pd.Series:
    """Share of cases that failed after changing the address space (``PARTIAL_FAIL``), per ``by``."""
    _check_frame(df, by)
    return _rate(df["outcome"].eq("PARTIAL_FAIL"), df, by, "partial_failure_rate")


# ---- single cases at full size ---------------------------------------------------------------


def free_slots_table(df: pd.DataFrame, kernels: Sequence[str] | None = None) -> pd.DataFrame:
    """A table in the style of semantics §7: one row per (scenario, free slots), one column per kernel, cells like
    ``"PARTIAL(fp) 65529"`` (class, map_count after). Useful to compare a sweep with docs/semantics.md by eye."""
    short = {"OK": "OK", "FALSE_POSITIVE": "FP", "CLEAN_FAIL": "CLEAN", "PARTIAL_FAIL": "PARTIAL"}
    cells = df["outcome"].map(short) + df["fp"].where(df["outcome"].eq("PARTIAL_FAIL"), False).map(
        {True: "(fp)", False: ""}) + " " + df["mc_after"].astype(str)
    t = df.assign(cell=cells).pivot_table(index=["scenario", "free_slots"], columns="kernel", values="cell",
                                          aggfunc="first", sort=False)
    cols = [k for k in (kernels or KERNELS) if k in t.columns]
    return t[cols]



# ---- sweeps over any profiles, e.g. one with a learner's own check (notebook 09) -------------------------


def punches_hole(mm: AddressSpace, start: int, length: int) -> bool:
    """Whether unmapping ``[start, start + length)`` would punch a hole: the range lies strictly inside one
    VMA, so the unmap splits it in three and adds one VMA (semantics §2.2). A building block for checks.

    >>> from mmsim import PAGE_SIZE as P, PROT_READ, MAP_PRIVATE, MAP_ANONYMOUS
    >>> mm = AddressSpace("5.0"); a = mm.mmap(0, 10 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> punches_hole(mm, a + 2 * P, 3 * P), punches_hole(mm, a, 3 * P), punches_hole(mm, a, 10 * P)
    (True, False, False)
    """
    if length <= 0:
        return False
    v = mm.find_vma(start)
    return v is not None and v.start < start and start + length < v.end


def _profiles(profiles: Iterable[Any] | Any) -> list[Any]:
    from .profiles import Profile

    if isinstance(profiles, (str, Profile)):
        profiles = [profiles]
    out = [get_profile(p) for p in profiles]
    if not out:
        raise ValueError("no profiles given")
    names = [p.name for p in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"two profiles are named {dup[0]!r}: give each profile its own name")
    return out


def _registry_only(profile: Any) -> bool:
    """True when every anticipatory check of the profile is the registry's own (a pure threshold, or
    alt_early): then :func:`settled` holds and outcomes at larger free-slot counts can be reused."""
    from .checks import CHECKS

    return all(CHECKS.get(name) is profile.check_named(name) and CHECKS[name].predicate in (None,
               CHECKS["alt_early"].predicate) for name in profile.a_checks)


def _build(sc: Scenario, profile: Any, max_map_count: int) -> AddressSpace:
    """The scenario's layout under ``profile`` (any :class:`~mmsim.profiles.Profile`, a derived one too)."""
    if sc.op_kwargs is not None:
        mm = AddressSpace(profile, max(max_map_count, 1 << 16))
        sc.replay_setup(mm)
        mm.max_map_count = max_map_count
        mm.trace.clear()
        return mm
    return sc.build(profile.name if profile.name in KERNELS else "5.0", max_map_count).with_kernel(profile)


@renamed_arguments(slacks="free_slots")
def sweep_profiles(
    profiles: Iterable[Any] | Any,
    scenarios: Iterable[Scenario | str] | Scenario | str | None = None,
    free_slots: Iterable[int] | int = range(0, 11),
    *,
    max_map_count: int = DEFAULT_MAX_MAP_COUNT,
    progress: bool | None = False,
) -> pd.DataFrame:
    """:func:`sweep` over any profiles: names of :data:`mmsim.KERNELS` and/or :class:`~mmsim.profiles.Profile`
    objects, such as one made with :meth:`Profile.derive` around a check of your own.

    The rows have :data:`COLUMNS`, with the profile's name in ``kernel``. As in :func:`sweep`, each case runs
    under a small ``max_map_count`` and its counts are shifted to ``max_map_count`` (exact for every check of
    the registry). A check of your own must therefore depend on ``map_count`` only through
    ``ctx.free_slots`` (``max_map_count - map_count``), as every kernel check does. Outcomes are reused for
    larger free-slot counts (:func:`settled`) only for profiles whose checks all come from the registry: a check of
    your own need not fail less often with more free slots.

    Raises ValueError for an unknown profile name, two profiles of one name, or bad free-slot counts; a check that
    raises propagates its exception.

    >>> from mmsim import PROFILES
    >>> mine = PROFILES["5.0"].derive("5.0+early", checks={"mremap_to": ["mremap_early"],
    ...                                                     "move_vma": ["move_vma_limit"]})
    >>> df = sweep_profiles([mine, "5.1"], ["seed-S"], free_slots=[4, 5])
    >>> for row in df[["kernel", "free_slots", "outcome"]].values.tolist():
    ...     print(*row)
    5.0+early 4 CLEAN_FAIL
    5.0+early 5 FALSE_POSITIVE
    5.1 4 CLEAN_FAIL
    5.1 5 FALSE_POSITIVE
    """
    ps = _profiles(profiles)
    scs = resolve_scenarios(scenarios)
    sl = _ints(free_slots, "free_slots")
    if min(sl) < -1:
        raise ValueError(f"free slots must be >= -1 (mmap lets map_count reach max_map_count + 1), got {min(sl)}")
    rows: list[tuple] = []
    with progress_bar(len(scs) * len(ps) * len(sl), progress, "sweep") as bar:
        for sc in scs:
            layout = sc.layout_vmas
            if max_map_count - max(sl) < layout:
                raise ValueError(f"scenario {sc.name!r} has {layout} VMAs: it cannot have {max(sl)} free "
                                 f"slots under max_map_count={max_map_count}")
            for p in ps:
                rows.extend(_sweep_free_slots(sc, p, sl, max_map_count, False, _registry_only(p)))
                bar.update(len(sl))
    df = _frame(rows)
    df.attrs["mmsim"] = sweep_metadata(ps, axis="free_slots", values=sl, max_map_count=max_map_count, exact=False)
    return df


def tradeoff_table(df: pd.DataFrame, kernels: Sequence[str] | None = None) -> pd.DataFrame:
    """Per kernel (profile) of a sweep: the share of cases that failed half-way (``partial_failure_rate``) and
    the share refused needlessly with nothing changed (``false_positive_rate``, semantics §6), plus ``cases``.

    Rows in the order of ``kernels`` (default: :data:`mmsim.KERNELS` first, then the others as they appear).

    >>> df = sweep(["seed-W", "seed-S"], ["5.0", "5.1"], free_slots=range(0, 9))
    >>> t = tradeoff_table(df); (t * 18).round().astype(int).loc[:, ["partial_failure_rate", "false_positive_rate"]]
    ... # doctest: +NORMALIZE_WHITESPACE
            partial_failure_rate  false_positive_rate
    kernel
    5.0                        9                    0
    5.1                        0                    1
    """
    _check_frame(df, "kernel")
    out = pd.DataFrame({
        "partial_failure_rate": partial_failure_rate(df),
        "false_positive_rate": false_positive_rate(df),
        "cases": df.groupby("kernel", sort=False).size(),
    })
    order = list(kernels) if kernels is not None else _order(df["kernel"], "kernel")
    missing = [k for k in order if k not in out.index]
    if missing:
        raise ValueError(f"no rows for kernel(s) {', '.join(missing)} in this sweep")
    out = out.loc[order]
    out["cases"] = out["cases"].astype("int64")
    out.index.name = "kernel"
    return out


__all__ += ["punches_hole", "sweep_profiles", "tradeoff_table"]

#: Names that moved to :mod:`mmsim.tables` (the course's tables) and :mod:`mmsim.cases` (the Runner), still
#: importable from here: ``from mmsim.experiments import Runner, slots_needed`` keeps working.
_MOVED = {n: "tables" for n in (
    "FREE_SLOTS_TRIED", "limits_table", "min_free_slots", "path_table", "run_small",
    "slots_needed", "unmapped_ranges", "vma_table")}


def _moved(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f".{_MOVED[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: ``slack_table`` is the deprecated spelling of :func:`free_slots_table` (it warns).
__getattr__ = renamed_module_names(__name__, {"slack_table": "free_slots_table"}, fallback=_moved)
