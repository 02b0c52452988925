"""Kernel profiles as data: which checks run where, which behaviours a release has, what its functions are called.

A :class:`Profile` never carries code. It says

* which anticipatory checks (:data:`mmsim.checks.CHECKS`) run at which place of the mremap flow
  (:data:`mmsim.checks.HOOKS`);
* which of the behaviours that changed across releases it has (:data:`FEATURES`), which selects the
  branches of the shared flows in :mod:`mmsim.kernel`;
* the names of the kernel functions that differ between releases (for the ``fn`` field of traces);
* whether calls are transactional (profile ``ideal``, a project definition).

Adding a kernel profile is adding a row to :data:`PROFILES`; :meth:`Profile.derive` builds a variant of an
existing profile (the course's capstone uses it to plug in a learner's own check). Section numbers (§)
refer to ``docs/semantics.md``.

>>> PROFILES["5.1"].checks_at("mremap_to")[0].name
'mremap_early'
>>> PROFILES["6.18"].has("multi_vma_move"), PROFILES["5.1"].has("multi_vma_move")
(True, False)
>>> profile_for_release("6.18.44-amd64")
'6.18'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from .checks import CHECKS, HOOKS, Check, get_check

__all__ = [
    "FEATURES",
    "Feature",
    "KERNELS",
    "PROFILES",
    "Profile",
    "RELEASES",
    "get_profile",
    "profile_for_release",
]


@dataclass(frozen=True)
class Feature:
    """A behaviour that changed across releases: what it is, and the release and commit that brought it."""

    name: str
    summary: str
    since: str
    commit: str = ""
    #: The operations whose outcome (errno, layout, map_count) the behaviour can change; empty when only
    #: the trace differs.
    ops: frozenset[str] = frozenset({"mremap"})


def _features(*fs: Feature) -> Mapping[str, Feature]:
    return MappingProxyType({f.name: f for f in fs})


#: The behaviours a profile can have (semantics §3.6 and appendix A).
FEATURES: Mapping[str, Feature] = _features(
    Feature("dontunmap", "MREMAP_DONTUNMAP is accepted: move the pages, keep the old VMA mapped", "5.7",
            "e346b3813067"),
    Feature("dontunmap_any_vma", "MREMAP_DONTUNMAP on any mapping except VM_DONTEXPAND/VM_PFNMAP "
            "(5.7-5.12: private anonymous only)", "5.13", "a4609387859f"),
    Feature("early_vma_lookup", "mremap looks up the VMA at the old address first, for every call: a no-op or "
            "shrink at an unmapped address, or a FIXED move from one, fails with EFAULT before anything else",
            "5.16", "550a7d60bd5e"),
    Feature("merge_on_grow", "mremap grow in place merges the VMA with the next one when they now touch",
            "6.1", "ca3d76b0aa80"),
    Feature("munmap_gather", "munmap and MAP_FIXED gather and split the VMAs first and detach them at "
            "completion, so removed VMAs stay counted until then (vms_complete_munmap_vmas)", "6.12",
            ops=frozenset()),
    Feature("mprotect_unaccount", "mprotect to non-writable drops VM_ACCOUNT of an unfaulted private "
            "anonymous VMA", "6.7", "9b9143298585", ops=frozenset({"mprotect"})),
    Feature("anon_merge_unfaulted_target", "a faulted range may merge into an unfaulted neighbour (before: "
            "refused since 965f55dea0e3, because an unfaulted VMA's anon_vma_chain is not singular; "
            "fixed by 'mm/vma: fix incorrectly disallowed anonymous VMA merges')", "6.16",
            ops=frozenset({"mprotect", "mremap"})),
    Feature("validate_first", "mremap looks the old range up and validates it (vma_lookup, check_prep_vma) "
            "before anything is unmapped; new_len > TASK_SIZE is EINVAL for every call", "6.17"),
    Feature("multi_vma_move", "a same-size MREMAP_FIXED move of a range holding several VMAs moves them "
            "one by one (remap_move)", "6.17", "d23cb648e365"),
)

#: Features each mremap flow implements (the flow is chosen by ``validate_first``).
_FLOW_FEATURES = {
    False: frozenset(FEATURES) - {"validate_first", "multi_vma_move"},
    True: frozenset(FEATURES),
}
#: What the 6.17+ flow assumes its release has (it was written from 6.17+ sources).
_FLOW_REQUIRES = {True: frozenset({"dontunmap", "dontunmap_any_vma", "early_vma_lookup", "merge_on_grow"})}

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
NAMES_V6_18: Mapping[str, str] = MappingProxyType({
    "munmap": "do_vmi_munmap", "detach": "vms_complete_munmap_vmas", "mmap_region": "__mmap_region",
    "merge_new": "vma_merge_new_range", "merge_existing": "vma_merge_existing_range", "set_flags": "vma_set_flags",
    "unmap_overlap": "vms_gather_munmap_vmas", "unmap_source": "do_vmi_munmap", "move_vma": "prep_move_vma",
})


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
        The profile name (:data:`KERNELS`).
    src:
        The release whose functions the flows mirror, shown in trace ``fn`` names (``"move_vma@5.1"``).
    checks:
        Anticipatory checks by place: ``{"mremap_to": (mremap_early,), "move_vma": (move_vma_limit,)}``.
        Give names or :class:`~mmsim.checks.Check` objects; enforcing checks are not listed (every profile
        has them where VMAs are created).
    features:
        Names from :data:`FEATURES`.
    names:
        Kernel function names by role (:data:`NAMES_V5`, :data:`NAMES_V6_18`).
    transactional:
        Run every call on a scratch state and commit it only within the limits (``ideal``, semantics §3.5.9).
    releases:
        The kernel releases the profile stands for, for tables (``"6.17-7.0"``).
    description:
        One line for tables and widgets.

    >>> import mmsim
    >>> p = mmsim.PROFILES["5.1"]
    >>> {hook: [c.name for c in cs] for hook, cs in p.checks.items()}
    {'mremap_to': ['mremap_early'], 'move_vma': ['move_vma_limit']}
    >>> p.has("dontunmap"), mmsim.PROFILES["6.1"].has("dontunmap")      # MREMAP_DONTUNMAP came in 5.7
    (False, True)
    """

    name: str
    src: str
    checks: Mapping[str, Sequence[str | Check]]
    features: frozenset[str] = frozenset()
    names: Mapping[str, str] = field(default_factory=lambda: NAMES_V5)
    transactional: bool = False
    releases: str = ""
    description: str = ""
    _table: Mapping[str, tuple[Check, ...]] = field(init=False, repr=False, compare=False)
    _by_name: Mapping[str, Check] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = _check_table(self.checks)
        object.__setattr__(self, "checks", table)
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "features", frozenset(self.features))
        unknown = self.features - set(FEATURES)
        if unknown:
            raise ValueError(f"profile {self.name!r}: unknown feature(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(FEATURES)}")
        flow = "validate_first" in self.features
        unsupported = self.features - _FLOW_FEATURES[flow]
        if unsupported:
            raise ValueError(f"profile {self.name!r}: the {'6.17+' if flow else '5.x'} mremap flow does not "
                             f"implement {', '.join(sorted(unsupported))}")
        missing = _FLOW_REQUIRES.get(flow, frozenset()) - self.features
        if missing:
            raise ValueError(f"profile {self.name!r}: the 6.17+ mremap flow needs {', '.join(sorted(missing))}")
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

    def derive(self, name: str, *, checks: Mapping[str, Iterable[str | Check]] | None = None,
               features: Iterable[str] | None = None, transactional: bool | None = None,
               description: str | None = None) -> Profile:
        """A new profile built on this one, e.g. 5.0's flow with a check of your own.

        >>> mine = PROFILES["5.0"].derive("5.0+early", checks={"mremap_to": ["mremap_early"],
        ...                                                     "move_vma": ["move_vma_limit"]})
        >>> sorted(mine.a_checks)
        ['move_vma_limit', 'mremap_early']
        """
        return replace(
            self, name=name,
            checks=self.checks if checks is None else {k: tuple(v) for k, v in checks.items()},
            features=self.features if features is None else frozenset(features),
            transactional=self.transactional if transactional is None else transactional,
            description=self.description if description is None else description,
            releases="",
        )


_V6_1 = frozenset({"dontunmap", "dontunmap_any_vma", "early_vma_lookup", "merge_on_grow"})
_V6 = _V6_1 | {"munmap_gather", "mprotect_unaccount", "anon_merge_unfaulted_target", "validate_first",
               "multi_vma_move"}

#: The modelled kernels, by name, in teaching order.
PROFILES: Mapping[str, Profile] = MappingProxyType({
    p.name: p
    for p in (
        Profile("5.0", "5.0", {"move_vma": ["move_vma_limit"]}, releases="5.0",
                description="v5.0, before ea2c3f6f5545: FIXED unmaps destination and tail before any check"),
        Profile("5.1", "5.1", {"mremap_to": ["mremap_early"], "move_vma": ["move_vma_limit"]}, releases="5.1-5.6",
                description="v5.1: early worst-case check (map_count + 2) >= max - 3 for MREMAP_FIXED"),
        Profile("6.1", "6.1", {"mremap_to": ["mremap_early"], "move_vma": ["move_vma_limit"]},
                _V6_1, NAMES_V6_1, releases="6.1-6.6",
                description="6.1 LTS: 5.1's unmap-then-validate mremap, plus DONTUNMAP, an early VMA lookup "
                            "and grow-in-place merging"),
        Profile("6.18", "6.18", {"check_mremap_params": ["mremap_early"], "move_vma": ["move_vma_limit"]},
                _V6, NAMES_V6_18, releases="6.17-7.0",
                description="6.17-7.0: validation before unmaps, multi-VMA moves, DONTUNMAP"),
        Profile("7.1", "7.1", {"do_mremap": ["mremap_early_v7"], "move_vma": ["move_vma_limit_v7"]},
                _V6, NAMES_V6_18, releases="7.1",
                description="7.1: map_count + 4 <= max for every mremap; move check map_count + 2 <= max"),
        Profile("5.1-alt", "5.1", {"mremap_to": ["alt_early"], "move_vma": ["move_vma_limit"]},
                description="2019 alternative (never merged): cheap trigger, then exact prediction of the unmaps"),
        Profile("ideal", "5.0", {}, transactional=True,
                description="5.0's flow without anticipatory checks, committed only if within the limits"),
    )
})

#: The profile names, in teaching order.
KERNELS: tuple[str, ...] = tuple(PROFILES)

#: Which releases each real-kernel profile models: ((first major, minor), (last major, minor), profile).
RELEASES: tuple[tuple[tuple[int, int], tuple[int, int], str], ...] = (
    ((5, 0), (5, 0), "5.0"),
    ((5, 1), (5, 6), "5.1"),
    ((6, 1), (6, 6), "6.1"),
    ((6, 17), (7, 0), "6.18"),
    ((7, 1), (7, 1), "7.1"),
)


def get_profile(kernel: str | Profile) -> Profile:
    """Look a profile up by name (a :class:`Profile` is returned as is).

    ``ValueError`` names the choices for an unknown name; ``TypeError`` for anything but a str or Profile.

    >>> get_profile("7.1").checks_at("do_mremap")[0].name
    'mremap_early_v7'
    """
    if isinstance(kernel, Profile):
        return kernel
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be a profile name (str) or a Profile, not {type(kernel).__name__}")
    try:
        return PROFILES[kernel]
    except KeyError:
        raise ValueError(f"unknown kernel profile {kernel!r}; choose one of {', '.join(KERNELS)}") from None


def profile_for_release(release: str) -> str | None:
    """The profile that models a kernel release string (``"6.18.44-foo"`` -> ``"6.18"``), or None.

    5.0.x -> "5.0", 5.1.x to 5.6.x -> "5.1", 6.1.x to 6.6.x -> "6.1", 6.17.x to 7.0.x -> "6.18", 7.1.x -> "7.1"
    (:data:`RELEASES`: the releases a profile models exactly; :func:`mmsim.kernel_for_release` maps every
    release from 5.0 to 7.1 to its closest profile).

    >>> profile_for_release("5.4.0-150-generic"), profile_for_release("6.8.0-45-generic")
    ('5.1', None)
    """
    m = re.match(r"(\d+)\.(\d+)", release)
    if not m:
        return None
    version = (int(m.group(1)), int(m.group(2)))
    for lo, hi, profile in RELEASES:
        if lo <= version <= hi:
            return profile
    return None
