"""Kernel profiles as data: which behaviours a release has, where its checks sit, what its functions are called.

A release is the set of behaviours (:data:`FEATURES`) that had landed by then; each feature names the
release and commit that brought it, and which calls it can change (a predicate on the operation and its
arguments). A :class:`Profile` never carries code. It says

* which features it has, which select the branches of the shared flows in :mod:`mmsim.kernel`;
* which anticipatory checks (:data:`mmsim.checks.CHECKS`) run at which place of the mremap flow
  (:data:`mmsim.checks.HOOKS`): for a profile of a real release they follow from its features
  (:func:`release_checks`); a hypothetical profile states them;
* the names of the kernel functions that differ between releases (for the ``fn`` field of traces);
* whether calls are transactional (profile ``ideal``, a project definition).

Adding a kernel profile is adding a row to :data:`PROFILES` (and a feature for a behaviour no feature
describes yet). :mod:`mmsim.releases` maps any release to its profile, the only place that does.
:meth:`Profile.derive` builds a hypothetical variant of a profile (the capstone uses it to plug in a
learner's own check). Section numbers (§) refer to ``docs/semantics.md``.

>>> PROFILES["5.1"].checks_at("mremap_to")[0].name
'mremap_early'
>>> PROFILES["6.18"].has("multi_vma_move"), PROFILES["5.1"].has("multi_vma_move")
(True, False)
>>> FEATURES["dontunmap"].applies("mremap", {"flags": 0x7}), FEATURES["dontunmap"].applies("mremap", {"flags": 3})
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from .checks import CHECKS, HOOKS, Check, get_check
from .constants import MREMAP_DONTUNMAP, MREMAP_FIXED, PROT_WRITE, page_align

__all__ = [
    "FEATURES",
    "Feature",
    "KERNELS",
    "NAMES_V5",
    "NAMES_V6_1",
    "NAMES_V6_12",
    "NAMES_V6_18",
    "PATCHED",
    "PROFILES",
    "Profile",
    "VARIANTS",
    "get_profile",
    "profile_for_release",
    "register_profile",
    "release_checks",
    "unregister_profile",
]

#: A predicate on a call: ``(operation name, its arguments as mmsim.ops names them) -> bool``.
Affects = Callable[[str, Mapping[str, Any]], bool]


def _every(*ops: str) -> Affects:
    return lambda op, args: op in ops


def _mremap_with(flags: int) -> Affects:
    return lambda op, args: op == "mremap" and bool(int(args.get("flags") or 0) & flags)


def _mremap_grow(op: str, args: Mapping[str, Any]) -> bool:
    return op == "mremap" and page_align(int(args.get("new_size") or 0)) > page_align(int(args.get("old_size") or 0))


def _mremap_fixed_same_size(op: str, args: Mapping[str, Any]) -> bool:
    return (op == "mremap" and bool(int(args.get("flags") or 0) & MREMAP_FIXED)
            and page_align(int(args.get("new_size") or 0)) == page_align(int(args.get("old_size") or 0)))


def _mprotect_non_writable(op: str, args: Mapping[str, Any]) -> bool:
    return op == "mprotect" and not int(args.get("prot") or 0) & PROT_WRITE


@dataclass(frozen=True)
class Feature:
    """A behaviour that changed across releases: what it is, the release and commit that brought it, and the
    calls it can change.

    ``since`` is the mainline release that brought it (``""`` when it is not established); ``stable`` the
    stable branches that got it as a backport, with the first sublevel that has it (``{"6.12": 114}``: from
    6.12.114 on). ``affects(op, args)`` says whether a call (an operation of :data:`mmsim.ops.OPS` and its
    arguments) can end differently (errno, layout, map_count) with and without the feature; ``scope`` says
    the same in words. A feature that changes only the trace has ``affects=None``.
    """

    name: str
    summary: str
    since: str
    commit: str = ""
    scope: str = ""
    affects: Affects | None = field(default=None, compare=False, repr=False)
    stable: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def version(self) -> tuple[int, int] | None:
        """``since`` as ``(major, minor)``, None when the mainline release is not established."""
        if not self.since:
            return None
        major, minor = self.since.split(".")[:2]
        return int(major), int(minor)

    def present_in(self, version: tuple[int, int], sublevel: int | None = None) -> bool:
        """Whether release ``major.minor[.sublevel]`` has the feature: mainline from ``since``, or a stable
        branch from its first backported sublevel. O(1)."""
        if self.version is not None and self.version <= version:
            return True
        first = self.stable.get(f"{version[0]}.{version[1]}")
        return first is not None and sublevel is not None and sublevel >= first

    def applies(self, op: str, args: Mapping[str, Any]) -> bool:
        """Whether the call ``op(**args)`` can end differently with and without this feature. O(1)."""
        return self.affects is not None and self.affects(op, args)


def _features(*fs: Feature) -> Mapping[str, Feature]:
    return MappingProxyType({f.name: f for f in fs})


_FIXED_OR_DONTUNMAP = "mremap with MREMAP_FIXED or MREMAP_DONTUNMAP"

#: The behaviours a release can have, in the order they landed (semantics §3.6 and appendix A).
FEATURES: Mapping[str, Feature] = _features(
    Feature("early_map_count_check", "mremap_to() refuses unless (map_count + 2) < max - 3, before it unmaps "
            "anything (the 2019 fix)", "5.1", "ea2c3f6f5545", _FIXED_OR_DONTUNMAP,
            _mremap_with(MREMAP_FIXED | MREMAP_DONTUNMAP)),
    Feature("dontunmap", "MREMAP_DONTUNMAP is accepted: move the pages, keep the old VMA mapped", "5.7",
            "e346b3813067", "mremap with MREMAP_DONTUNMAP", _mremap_with(MREMAP_DONTUNMAP)),
    Feature("dontunmap_no_account_conceal", "move_vma() no longer hides VM_ACCOUNT during a MREMAP_DONTUNMAP "
            "move; before, a DONTUNMAP of a range strictly inside an accounted VMA set VM_ACCOUNT on the next VMA "
            "in address order (vma->vm_next), as if the old VMA had been split", "5.11", "ad8ee77ea9db",
            "mremap with MREMAP_DONTUNMAP", _mremap_with(MREMAP_DONTUNMAP)),
    Feature("dontunmap_unlink_anon", "a MREMAP_DONTUNMAP move of a whole VMA unlinks the old VMA's anon_vma "
            "(unlink_anon_vmas()); 5.7-5.11 keep it, so the old VMA still counts as faulted", "5.12",
            "1583aa278f5f", "mremap with MREMAP_DONTUNMAP", _mremap_with(MREMAP_DONTUNMAP)),
    Feature("dontunmap_any_vma", "MREMAP_DONTUNMAP on any mapping except VM_DONTEXPAND/VM_PFNMAP "
            "(5.7-5.12: private anonymous only)", "5.13", "a4609387859f", "mremap with MREMAP_DONTUNMAP",
            _mremap_with(MREMAP_DONTUNMAP)),
    Feature("early_vma_lookup", "mremap looks up the VMA at the old address first, for every call: a no-op or "
            "shrink at an unmapped address, or a FIXED move from one, fails with EFAULT before anything else",
            "5.16", "550a7d60bd5e", "every mremap", _every("mremap")),
    Feature("merge_on_grow", "mremap grow in place merges the VMA with the next one when they now touch",
            "6.1", "ca3d76b0aa80", "mremap that grows", _mremap_grow),
    Feature("mmap_merge_next_first", "mmap_region() tries the next VMA first, then prev with next's anon_vma: "
            "a new mapping between an unfaulted prev and a faulted next, or between two differently faulted "
            "neighbours, joins next only (the maple-tree mmap_region())", "6.1", "", "mmap", _every("mmap")),
    Feature("mprotect_unaccount", "mprotect to non-writable drops VM_ACCOUNT of an unfaulted private "
            "anonymous VMA", "6.7", "9b9143298585", "mprotect to a non-writable protection",
            _mprotect_non_writable),
    Feature("munmap_gather", "munmap and MAP_FIXED gather and split the VMAs first and detach them at "
            "completion, so removed VMAs stay counted until then (vms_complete_munmap_vmas)", "6.12",
            scope="the trace only"),
    Feature("mmap_merge_new_range", "mmap_region() merges through vma_merge_new_range(): prev first, then "
            "next, and both only if their anon_vmas are compatible (ends mmap_merge_next_first)", "6.12",
            scope="mmap", affects=_every("mmap")),
    Feature("dontunmap_pgoff_reset", "the old VMA of a whole-VMA MREMAP_DONTUNMAP move, now unfaulted, gets "
            "vm_pgoff = vm_start >> PAGE_SHIFT ('mm/mremap: reset unfaulted VMA page offset for "
            "MREMAP_DONTUNMAP'; a 2026 fix, stable 6.12.112; its mainline release is not established here)", "",
            scope="mremap with MREMAP_DONTUNMAP", affects=_mremap_with(MREMAP_DONTUNMAP), stable={"6.12": 112}),
    Feature("dontunmap_no_self_merge", "copy_vma(..., keep_source): the copy of an unfaulted VMA that "
            "MREMAP_DONTUNMAP keeps never merges into it ('mm/mremap: fix locked_vm leak from MREMAP_DONTUNMAP "
            "self-merge'; stable 6.12.114; its mainline release is not established here)", "",
            scope="mremap with MREMAP_DONTUNMAP", affects=_mremap_with(MREMAP_DONTUNMAP), stable={"6.12": 114}),
    Feature("early_check_before_lock", "the early map_count check moves into check_mremap_params(), before "
            "the mmap lock is taken", "6.15", "85ea6bdd88a2", _FIXED_OR_DONTUNMAP,
            _mremap_with(MREMAP_FIXED | MREMAP_DONTUNMAP)),
    Feature("anon_merge_unfaulted_target", "a faulted range may merge into an unfaulted neighbour (before: "
            "refused since 965f55dea0e3, because an unfaulted VMA's anon_vma_chain is not singular; "
            "fixed by 'mm/vma: fix incorrectly disallowed anonymous VMA merges')", "6.16",
            scope="mprotect and mremap", affects=_every("mprotect", "mremap")),
    Feature("validate_first", "mremap looks the old range up and validates it (vma_lookup, check_prep_vma) "
            "before anything is unmapped; new_len > TASK_SIZE is EINVAL for every call", "6.17",
            "a85dc37186a5", "every mremap", _every("mremap")),
    Feature("multi_vma_move", "a same-size MREMAP_FIXED move of a range holding several VMAs moves them "
            "one by one (remap_move)", "6.17", "d23cb648e365", "same-size mremap with MREMAP_FIXED",
            _mremap_fixed_same_size),
    Feature("map_count_v7", "7.1's map-count commits ('mm/mremap: check map count under mmap write lock and "
            "abstract', 'mm/mremap: correct invalid map count check'): map_count + 4 <= max for every mremap, "
            "under the lock; the move check becomes map_count + 2 <= max", "7.1", "9b9b8d4aebf1", "every mremap",
            _every("mremap")),
)

#: Features each mremap flow implements (the flow is chosen by ``validate_first``), and the check places
#: (:data:`mmsim.checks.HOOKS`) it runs.
_FLOW_FEATURES = {
    False: frozenset(FEATURES) - {"validate_first", "multi_vma_move", "early_check_before_lock", "map_count_v7"},
    True: frozenset(FEATURES),
}
_FLOW_HOOKS = {False: frozenset({"mremap_to", "do_mremap", "move_vma"}),
               True: frozenset({"check_mremap_params", "do_mremap", "move_vma"})}
#: What the 6.17+ flow assumes its release has (it was written from 6.17+ sources).
_FLOW_REQUIRES = {True: frozenset({"dontunmap", "dontunmap_any_vma", "early_vma_lookup", "merge_on_grow",
                                   "dontunmap_no_account_conceal", "dontunmap_unlink_anon", "mmap_merge_new_range"})}


def release_checks(features: Iterable[str]) -> Mapping[str, tuple[str, ...]]:
    """Where a real release's anticipatory map_count checks sit, from its features (semantics §3.6).

    5.0: only move_vma()'s check; 5.1 (``early_map_count_check``): the early check in mremap_to(); 6.15
    (``early_check_before_lock``): in check_mremap_params(); 7.1 (``map_count_v7``): 7.1's two checks.

    >>> dict(release_checks({"early_map_count_check"}))
    {'mremap_to': ('mremap_early',), 'move_vma': ('move_vma_limit',)}
    """
    fs = frozenset(features)
    if "map_count_v7" in fs:
        return MappingProxyType({"do_mremap": ("mremap_early_v7",), "move_vma": ("move_vma_limit_v7",)})
    if "early_map_count_check" in fs:
        hook = "check_mremap_params" if "early_check_before_lock" in fs else "mremap_to"
        return MappingProxyType({hook: ("mremap_early",), "move_vma": ("move_vma_limit",)})
    return MappingProxyType({"move_vma": ("move_vma_limit",)})


#: Kernel function names that differ between releases, by role (the ``fn`` of trace records).
NAMES_V5: Mapping[str, str] = MappingProxyType({
    "munmap": "__do_munmap", "detach": "detach_vmas_to_be_unmapped", "mmap_region": "mmap_region",
    "merge_new": "vma_merge", "merge_existing": "vma_merge", "set_flags": "mprotect_fixup",
    "unmap_overlap": "do_munmap", "unmap_source": "do_munmap", "move_vma": "move_vma",
})
NAMES_V6_1: Mapping[str, str] = MappingProxyType({
    "munmap": "do_mas_munmap", "detach": "do_mas_align_munmap", "mmap_region": "mmap_region",
    "merge_new": "vma_merge", "merge_existing": "vma_merge", "set_flags": "mprotect_fixup",
    "unmap_overlap": "do_mas_munmap", "unmap_source": "do_munmap", "move_vma": "move_vma",
})
NAMES_V6_12: Mapping[str, str] = MappingProxyType({
    "munmap": "do_vmi_munmap", "detach": "vms_complete_munmap_vmas", "mmap_region": "__mmap_region",
    "merge_new": "vma_merge_new_range", "merge_existing": "vma_merge_existing_range", "set_flags": "mprotect_fixup",
    "unmap_overlap": "vms_gather_munmap_vmas", "unmap_source": "do_vmi_munmap", "move_vma": "move_vma",
})
NAMES_V6_18: Mapping[str, str] = MappingProxyType({
    "munmap": "do_vmi_munmap", "detach": "vms_complete_munmap_vmas", "mmap_region": "__mmap_region",
    "merge_new": "vma_merge_new_range", "merge_existing": "vma_merge_existing_range", "set_flags": "vma_set_flags",
    "unmap_overlap": "vms_gather_munmap_vmas", "unmap_source": "do_vmi_munmap", "move_vma": "prep_move_vma",
})


class _Derived(Mapping[str, Sequence[str]]):
    """The default of :attr:`Profile.checks`: an empty, hashable mapping meaning "follow from the features"."""

    def __getitem__(self, key: str) -> Sequence[str]:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0


_FROM_FEATURES: Mapping[str, Sequence[str | Check]] = _Derived()


def _check_table(checks: Mapping[str, Iterable[str | Check]]) -> Mapping[str, tuple[Check, ...]]:
    out = {}
    for hook, names in checks.items():
        if hook not in HOOKS:
            raise ValueError(f"unknown check place {hook!r}; choose one of {', '.join(HOOKS)}")
        cs = tuple(get_check(n) for n in names)
        for c in cs:
            if not c.anticipatory:
                raise ValueError(f"{c.name!r} is an enforcing check: it runs where VMAs are created, "
                                 f"not at {hook!r}")
        out[hook] = cs
    return MappingProxyType(out)


@dataclass(frozen=True, eq=False)
class Profile:
    """One modelled kernel, as data.

    Attributes
    ----------
    name:
        The profile name (:data:`KERNELS`; a release's ``"major.minor"`` for a real release).
    src:
        The release whose functions the flows mirror, shown in trace ``fn`` names (``"move_vma@5.1"``).
    features:
        Names from :data:`FEATURES`.
    checks:
        Anticipatory checks by place: ``{"mremap_to": (mremap_early,), "move_vma": (move_vma_limit,)}``,
        names or :class:`~mmsim.checks.Check` objects (enforcing checks are not listed: every profile has
        them where VMAs are created). Not given for a real release: they follow from ``features``
        (:func:`release_checks`). Giving them makes the profile hypothetical.
    names:
        Kernel function names by role (:data:`NAMES_V5`, :data:`NAMES_V6_1`, :data:`NAMES_V6_18`).
    transactional:
        Run every call on a scratch state and commit it only within the limits (``ideal``, semantics §3.5.9).
    description:
        One line for tables and widgets.
    evidence:
        How the profile was established against a real kernel (e.g. the live runs that check it).

    >>> import mmsim
    >>> p = mmsim.PROFILES["5.1"]
    >>> {hook: [c.name for c in cs] for hook, cs in p.checks.items()}
    {'mremap_to': ['mremap_early'], 'move_vma': ['move_vma_limit']}
    >>> p.has("dontunmap"), mmsim.PROFILES["6.1"].has("dontunmap")      # MREMAP_DONTUNMAP came in 5.7
    (False, True)
    >>> p.hypothetical, mmsim.PROFILES["5.1-alt"].hypothetical
    (False, True)
    """

    name: str
    src: str
    features: frozenset[str] = frozenset()
    checks: Mapping[str, Sequence[str | Check]] = _FROM_FEATURES
    names: Mapping[str, str] = field(default_factory=lambda: NAMES_V5)
    transactional: bool = False
    description: str = ""
    evidence: str = ""
    #: False for a profile of a kernel no release is (a patched build): the release policy never picks it.
    models_release: bool = True
    hypothetical: bool = field(init=False)
    _table: Mapping[str, tuple[Check, ...]] = field(init=False, repr=False, compare=False)
    _by_name: Mapping[str, Check] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", frozenset(self.features))
        unknown = self.features - set(FEATURES)
        if unknown:
            raise ValueError(f"profile {self.name!r}: unknown feature(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(FEATURES)}")
        derived = self.checks is _FROM_FEATURES
        object.__setattr__(self, "hypothetical", not derived or self.transactional or not self.models_release)
        table = _check_table(release_checks(self.features) if derived else self.checks)
        object.__setattr__(self, "checks", table)
        object.__setattr__(self, "_table", table)
        flow = "validate_first" in self.features
        unsupported = self.features - _FLOW_FEATURES[flow]
        if unsupported:
            raise ValueError(f"profile {self.name!r}: the {'6.17+' if flow else '5.x'} mremap flow does not "
                             f"implement {', '.join(sorted(unsupported))}")
        missing = _FLOW_REQUIRES.get(flow, frozenset()) - self.features
        if missing:
            raise ValueError(f"profile {self.name!r}: the 6.17+ mremap flow needs {', '.join(sorted(missing))}")
        stray = {hook for hook, cs in table.items() if cs} - _FLOW_HOOKS[flow]
        if stray:
            raise ValueError(f"profile {self.name!r}: the {'6.17+' if flow else '5.x'} mremap flow never runs "
                             f"checks at {', '.join(sorted(stray))} (it runs {', '.join(sorted(_FLOW_HOOKS[flow]))})")
        if "dontunmap_any_vma" in self.features and "dontunmap" not in self.features:
            raise ValueError(f"profile {self.name!r}: dontunmap_any_vma needs dontunmap")
        by_name = {c.name: c for cs in table.values() for c in cs}
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def has(self, feature: str) -> bool:
        """Whether the profile has a behaviour of :data:`FEATURES`. O(1)."""
        return feature in self.features

    def checks_at(self, hook: str) -> tuple[Check, ...]:
        """The anticipatory checks that run at ``hook`` (a key of :data:`mmsim.checks.HOOKS`). O(1)."""
        return self._table.get(hook, ())

    def check_named(self, name: str) -> Check | None:
        """The profile's check of that name, or the registry's, or None. O(1)."""
        return self._by_name.get(name) or CHECKS.get(name)

    def kfn(self, role: str) -> str:
        """The kernel function that plays ``role`` in this release (e.g. ``"munmap"`` -> ``"do_vmi_munmap"``)."""
        return self.names.get(role, role)

    @property
    def a_checks(self) -> frozenset[str]:
        """Names of the anticipatory checks this profile evaluates (semantics §6)."""
        return frozenset(self._by_name)

    @property
    def releases(self) -> str:
        """The releases the profile models, as ``"5.1-5.6"`` (:func:`mmsim.releases.releases_of`); ``""`` for a
        hypothetical profile."""
        from .releases import releases_of

        return releases_of(self)

    def derive(self, name: str, *, checks: Mapping[str, Iterable[str | Check]] | None = None,
               features: Iterable[str] | None = None, transactional: bool | None = None,
               description: str | None = None) -> Profile:
        """A new, hypothetical profile built on this one, e.g. 5.0's flow with a check of your own.

        >>> mine = PROFILES["5.0"].derive("5.0+early", checks={"mremap_to": ["mremap_early"],
        ...                                                     "move_vma": ["move_vma_limit"]})
        >>> sorted(mine.a_checks), mine.hypothetical
        (['move_vma_limit', 'mremap_early'], True)
        """
        return replace(
            self, name=name,
            checks=dict(self.checks) if checks is None else {k: tuple(v) for k, v in checks.items()},
            features=self.features if features is None else frozenset(features),
            transactional=self.transactional if transactional is None else transactional,
            description=self.description if description is None else description,
            evidence="",
        )


_V5_1 = frozenset({"early_map_count_check"})
_V5_10 = _V5_1 | {"dontunmap"}
_V6_1 = _V5_10 | {"dontunmap_no_account_conceal", "dontunmap_unlink_anon", "dontunmap_any_vma", "early_vma_lookup",
                  "merge_on_grow", "mmap_merge_next_first"}
_V6_12_0 = _V6_1 | {"mprotect_unaccount", "munmap_gather", "mmap_merge_new_range"}
_V6_12 = _V6_12_0 | {"dontunmap_pgoff_reset", "dontunmap_no_self_merge"}
_V6_18 = _V6_12_0 | {"early_check_before_lock", "anon_merge_unfaulted_target", "validate_first", "multi_vma_move"}

#: The modelled kernels, by name, in teaching order: real releases (their features), then hypothetical ones.
PROFILES: Mapping[str, Profile] = MappingProxyType({
    p.name: p
    for p in (
        Profile("5.0", "5.0",
                description="v5.0, before ea2c3f6f5545: FIXED unmaps destination and tail before any check",
                evidence="source reading of v5.0.1 (docs/semantics.md)"),
        Profile("5.1", "5.1", _V5_1,
                description="v5.1: early worst-case check (map_count + 2) >= max - 3 for MREMAP_FIXED",
                evidence="source reading of v5.1.15 (docs/semantics.md)"),
        Profile("5.10", "5.10", _V5_10,
                description="5.10 LTS: 5.1's flow plus MREMAP_DONTUNMAP (private anonymous only; the old VMA keeps "
                            "its anon_vma; an interior move sets VM_ACCOUNT on the next VMA)",
                evidence="live: Debian 5.10.223 under qemu; source reading of 5.10.223"),
        Profile("6.1", "6.1", _V6_1, names=NAMES_V6_1,
                description="6.1 LTS: 5.1's unmap-then-validate mremap, plus DONTUNMAP, an early VMA lookup, "
                            "grow-in-place merging and a next-first mmap merge",
                evidence="live: Debian 6.1.176 under qemu and user-mode Linux (docs/linux-6.1.md)"),
        Profile("6.12", "6.12", _V6_12, names=NAMES_V6_12,
                description="6.12 LTS (6.12.114 and later): 6.1's unmap-then-validate mremap; mprotect "
                            "unaccounting; vma_merge_new_range(); DONTUNMAP keeps the copy apart",
                evidence="live: Debian 6.12.117 under qemu; source reading of 6.12.117"),
        Profile("6.18", "6.18", _V6_18, names=NAMES_V6_18,
                description="6.17-7.0: validation before unmaps, multi-VMA moves, DONTUNMAP",
                evidence="live: 6.18.44 (the project's machines)"),
        Profile("7.1", "7.1", _V6_18 | {"map_count_v7"}, names=NAMES_V6_18,
                description="7.1: map_count + 4 <= max for every mremap; move check map_count + 2 <= max",
                evidence="source reading of v7.1.5 (docs/semantics.md)"),
        Profile("5.1-alt", "5.1", _V5_1, {"mremap_to": ["alt_early"], "move_vma": ["move_vma_limit"]},
                description="2019 alternative (never merged): cheap trigger, then exact prediction of the unmaps"),
        Profile("ideal", "5.0", checks={}, transactional=True,
                description="5.0's flow without anticipatory checks, committed only if within the limits"),
    )
})

#: The profile names, in teaching order.
KERNELS: tuple[str, ...] = tuple(PROFILES)

#: Profiles of patched kernels that mmsim builds to show a point (:mod:`mmsim.live.build`), by name. They are
#: not in :data:`KERNELS` (the course's profiles) and model no release; :func:`get_profile` finds them.
PATCHED: Mapping[str, Profile] = MappingProxyType({
    p.name: p
    for p in (
        Profile("5.10-revert-ea2c3f6f5545", "5.10", _V5_10 - {"early_map_count_check"}, models_release=False,
                description="Linux 5.10.223 with ea2c3f6f5545 reverted: 5.10's features without the 2019 early "
                            "check, i.e. 5.0's checks (the destination and tail are unmapped before move_vma()'s "
                            "check)",
                evidence="live: 5.10.223 built with the revert under qemu (mmsim.live.build)"),
    )
})

#: Hypothetical profiles that recombine real ones to separate two effects, by name. Not in :data:`KERNELS`;
#: :func:`get_profile` finds them. ``7.1-on-5.0`` is 7.1's thresholds (``mremap_early_v7`` for every call where
#: the mmap lock is taken, ``move_vma_limit_v7`` per moved VMA) on 5.0's unmap-then-validate flow, so that a
#: comparison of checks on one flow (notebook 09) is not a comparison of flows: 7.1 itself runs the 6.17+ flow,
#: which validates the old range before anything is unmapped.
VARIANTS: Mapping[str, Profile] = MappingProxyType({
    p.name: p
    for p in (
        PROFILES["5.0"].derive(
            "7.1-on-5.0", checks={"do_mremap": ["mremap_early_v7"], "move_vma": ["move_vma_limit_v7"]},
            description="7.1's two checks (map_count + 4 <= max for every mremap, where sys_mremap() takes the "
                        "mmap lock; map_count + 2 <= max per moved VMA) on 5.0's flow"),
    )
})

#: Profiles registered at run time by name (:func:`register_profile`).
_REGISTERED: dict[str, Profile] = {}


def register_profile(profile: Profile) -> Profile:
    """Make a profile made at run time (e.g. with :meth:`Profile.derive`) known by its name everywhere a
    profile name is taken: ``AddressSpace(kernel=...)``, :func:`mmsim.sweep`, the widgets' views. ValueError
    when the name is a row's or a release's. :func:`unregister_profile` forgets it.

    >>> mine = register_profile(PROFILES["5.0"].derive("5.0+mine", checks={"move_vma": ["move_vma_limit_v7"]}))
    >>> get_profile("5.0+mine") is mine
    True
    >>> unregister_profile("5.0+mine")
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile must be a Profile, not {type(profile).__name__}")
    name = profile.name
    if name in PROFILES or name in PATCHED or name in VARIANTS or _release_like(name):
        raise ValueError(f"{name!r} is the name of a profile mmsim has, or of a release: choose another")
    _REGISTERED[name] = profile
    return profile


def unregister_profile(name: str) -> None:
    """Forget a profile :func:`register_profile` registered (nothing for an unknown name)."""
    _REGISTERED.pop(name, None)


def _release_like(name: str) -> bool:
    import re

    return re.fullmatch(r"\d+\.\d+(\.\d+)?", name) is not None


def get_profile(kernel: str | Profile) -> Profile:
    """Look a profile up by name (a :class:`Profile` is returned as is).

    A release name that no row of :data:`PROFILES` carries (``"6.8"``) gives the profile
    :func:`mmsim.release_coverage` makes of that release's features, where the flows implement them.
    ``ValueError`` names the choices for an unknown name; ``TypeError`` for anything but a str or Profile.

    >>> get_profile("7.1").checks_at("do_mremap")[0].name
    'mremap_early_v7'
    >>> get_profile("6.8").has("mprotect_unaccount")     # 6.1's features plus 6.7's
    True
    """
    if isinstance(kernel, Profile):
        return kernel
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be a profile name (str) or a Profile, not {type(kernel).__name__}")
    p = PROFILES.get(kernel) or PATCHED.get(kernel) or VARIANTS.get(kernel) or _REGISTERED.get(kernel)
    if p is not None:
        return p
    from .releases import synthesized_profile

    p = synthesized_profile(kernel)
    if p is None:
        raise ValueError(f"unknown kernel profile {kernel!r}; choose one of {', '.join(KERNELS)} "
                         "(or a release such as '6.8')") from None
    return p


def profile_for_release(release: str) -> str | None:
    """The row of :data:`PROFILES` that models ``release`` exactly (``"6.18.44-foo"`` -> ``"6.18"``), or None.

    :func:`mmsim.release_coverage` is the policy; this asks it whether its answer is a named row.

    >>> profile_for_release("5.4.0-150-generic"), profile_for_release("6.8.0-45-generic")
    ('5.1', None)
    """
    from .releases import release_coverage

    try:
        c = release_coverage(release)
    except ValueError:
        return None
    return c.profile if c.exact and c.profile in PROFILES else None


def feature_table() -> str:
    """The features as a markdown table (docs/semantics.md §3.6 is this, generated; a test keeps them equal):
    feature, what it is, the release and commit that brought it, the calls it can change, and the profiles
    that have it.

    >>> feature_table().splitlines()[0]
    '| Feature | Behaviour | Since | Commit | Calls it can change | Profiles |'
    """
    rows = ["| Feature | Behaviour | Since | Commit | Calls it can change | Profiles |", "|---|---|---|---|---|---|"]
    for f in FEATURES.values():
        since = f.since or "—"
        if f.stable:
            since += "; " + ", ".join(f"stable {b}.{n}" for b, n in f.stable.items())
        having = ", ".join(k for k, p in {**PROFILES, **PATCHED, **VARIANTS}.items() if p.has(f.name)) or "—"
        rows.append(f"| `{f.name}` | {f.summary} | {since} | {f.commit or '—'} | {f.scope or '—'} | {having} |")
    return "\n".join(rows) + "\n"


def profile_table() -> str:
    """The profiles as a markdown table (docs/semantics.md §0 has it, generated): name, the releases it models
    (computed from the features), how it was established, and what it is.

    >>> profile_table().splitlines()[2].startswith("| `5.0` | 5.0 |")
    True
    """
    rows = ["| Profile | Releases | Established by | Models |", "|---|---|---|---|"]
    for p in (*PROFILES.values(), *PATCHED.values(), *VARIANTS.values()):
        releases = p.releases or ("—" if p.models_release else "a patched build")
        how = p.evidence or ("project definition" if p.hypothetical else "—")
        rows.append(f"| `{p.name}` | {releases} | {how} | {p.description} |")
    return "\n".join(rows) + "\n"



#: The markers around the generated tables of docs/semantics.md.
DOC_TABLES: Mapping[str, Callable[[], str]] = MappingProxyType({"profiles": profile_table, "features": feature_table})


def doc_table_block(name: str) -> str:
    """A generated table with its markers, as docs/semantics.md carries it."""
    return (f"<!-- generated: {name} (mmsim.profiles.{DOC_TABLES[name].__name__}; make docs-tables) -->\n"
            f"{DOC_TABLES[name]()}<!-- end generated: {name} -->")


def update_doc_tables(path: str) -> None:
    """Rewrite the generated tables of a markdown file (``make docs-tables``)."""
    import re

    with open(path) as f:
        text = f.read()
    for name in DOC_TABLES:
        rx = re.compile(rf"<!-- generated: {name} .*?<!-- end generated: {name} -->", re.S)
        if not rx.search(text):
            raise ValueError(f"{path} has no generated table {name!r}")
        m = rx.search(text)
        assert m is not None
        text = text[:m.start()] + doc_table_block(name) + text[m.end():]
    with open(path, "w") as f:
        f.write(text)
