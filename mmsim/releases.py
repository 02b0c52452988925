"""Any kernel release, mapped to the profile that models it, with what that profile does not model exactly.

A release has the behaviours of :data:`mmsim.profiles.FEATURES` that landed at or before it, and its
anticipatory map_count checks sit where that release put them (5.1: ``mremap_to()``; 6.15: before the
mmap lock in ``check_mremap_params()``; 7.1: 7.1's checks). :func:`release_coverage` compares that with
every real-kernel profile and picks the closest; :func:`kernel_for_release` returns its name. When the
release differs from the profile, :class:`Coverage` names the features that differ and the operations whose
outcome they can change, so that :func:`mmsim.live.compare_run` does not compare those operations.

>>> kernel_for_release("6.1.0-27-amd64"), kernel_for_release("6.18.44"), kernel_for_release("5.1.15")
('6.1', '6.18', '5.1')
>>> c = release_coverage("6.8.0-45-generic"); c.profile, c.exact, c.differences
('6.1', False, ('mprotect_unaccount',))
>>> sorted(c.operations)
['mprotect']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .profiles import FEATURES, PROFILES, Profile

__all__ = ["Coverage", "FIRST_MODELLED", "LAST_MODELLED", "host_profile", "kernel_for_release", "parse_release",
           "release_coverage"]

#: The oldest and newest release mmsim knows the behaviour of.
FIRST_MODELLED = (5, 0)
LAST_MODELLED = (7, 1)


def parse_release(release: str) -> tuple[int, int]:
    """``(major, minor)`` of a release string such as ``"6.8.0-45-generic"``; ValueError if it has none.

    >>> parse_release("5.15.0-1051-azure")
    (5, 15)
    """
    if not isinstance(release, str):
        raise TypeError(f"release must be a str, not {type(release).__name__}")
    m = re.match(r"\s*(\d+)\.(\d+)", release)
    if not m:
        raise ValueError(f"{release!r} is not a kernel release (expected e.g. '6.1.0-27-amd64')")
    return int(m.group(1)), int(m.group(2))


def _since(f: str) -> tuple[int, int]:
    major, minor = FEATURES[f].since.split(".")
    return int(major), int(minor)


def _checks_of(version: tuple[int, int]) -> dict[str, tuple[str, ...]]:
    """Where the release's anticipatory checks sit (semantics §3.6, appendix A)."""
    if version >= (7, 1):
        return {"do_mremap": ("mremap_early_v7",), "move_vma": ("move_vma_limit_v7",)}
    if version >= (6, 15):
        return {"check_mremap_params": ("mremap_early",), "move_vma": ("move_vma_limit",)}
    if version >= (5, 1):
        return {"mremap_to": ("mremap_early",), "move_vma": ("move_vma_limit",)}
    return {"move_vma": ("move_vma_limit",)}


def _checks_of_profile(p: Profile) -> dict[str, tuple[str, ...]]:
    return {hook: tuple(c.name for c in p.checks_at(hook)) for hook in p.checks if p.checks_at(hook)}


@dataclass(frozen=True)
class Coverage:
    """How well a profile models a release.

    ``exact`` is true when no modelled behaviour differs; otherwise ``differences`` names the features
    (:data:`mmsim.profiles.FEATURES`) and check placements that differ, and ``operations`` the operations
    whose outcome they can change (the others are modelled exactly).
    """

    release: str
    version: tuple[int, int]
    profile: str
    differences: tuple[str, ...]
    operations: frozenset[str]

    @property
    def exact(self) -> bool:
        """True when the profile models every operation of this release exactly."""
        return not self.operations

    def __str__(self) -> str:
        if self.exact:
            extra = f" (trace details differ: {', '.join(self.differences)})" if self.differences else ""
            return f"Linux {self.release}: modelled exactly by profile {self.profile!r}{extra}"
        return (f"Linux {self.release}: closest profile {self.profile!r}; differs in {', '.join(self.differences)} "
                f"(affects {', '.join(sorted(self.operations))})")


def release_coverage(release: str) -> Coverage:
    """The closest real-kernel profile for ``release`` and what it does not model exactly.

    ValueError for a release before 5.0 or after 7.1 (mmsim does not know what changed there).

    >>> import mmsim
    >>> print(mmsim.release_coverage("5.10"))
    Linux 5.10: closest profile '5.1'; differs in dontunmap (affects mremap)
    >>> c = mmsim.release_coverage("6.18.44"); c.profile, c.differences
    ('6.18', ())
    """
    version = parse_release(release)
    if not FIRST_MODELLED <= version <= LAST_MODELLED:
        raise ValueError(f"Linux {version[0]}.{version[1]} is outside the releases mmsim models "
                         f"({FIRST_MODELLED[0]}.{FIRST_MODELLED[1]} to {LAST_MODELLED[0]}.{LAST_MODELLED[1]})")
    have = frozenset(f for f in FEATURES if _since(f) <= version)
    checks = _checks_of(version)
    best: tuple[tuple[int, int], Coverage] | None = None
    for p in PROFILES.values():
        if not p.releases:  # hypothetical profiles (5.1-alt, ideal) model no release
            continue
        diff = sorted(have ^ p.features)
        ops = set().union(*(FEATURES[f].ops for f in diff)) if diff else set()
        if _checks_of_profile(p) != checks:
            diff.append("check placement")
            ops.add("mremap")
        cov = Coverage(release, version, p.name, tuple(diff), frozenset(ops))
        rank = (len(cov.operations), len(cov.differences))
        if best is None or rank < best[0]:
            best = (rank, cov)
    assert best is not None
    return best[1]


def kernel_for_release(release: str) -> str:
    """The profile that models kernel ``release`` (exactly, or as closely as :func:`release_coverage` says).

    >>> kernel_for_release("5.4.0-150-generic")
    '5.1'
    """
    return release_coverage(release).profile


def host_profile() -> str:
    """The profile of the running kernel (``AddressSpace(kernel="auto")``); ValueError off Linux or for a
    release outside the modelled range."""
    u = os.uname()
    if u.sysname != "Linux":
        raise ValueError(f"kernel='auto' needs Linux; this is {u.sysname}")
    return kernel_for_release(u.release)
