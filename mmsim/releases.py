"""The one release policy: any kernel release, its behaviours, and the profile that models it.

A release has the behaviours of :data:`mmsim.profiles.FEATURES` that landed at or before it
(:func:`features_of`); its anticipatory checks follow from them (:func:`mmsim.profiles.release_checks`).
:func:`release_coverage` answers, for a release string:

1. the row of :data:`mmsim.profiles.PROFILES` with exactly those features, if there is one (exact);
2. else a profile made of those features (:func:`synthesized_profile`, named ``"major.minor"``), where the
   shared flows implement them (exact, ``synthesized``);
3. else the closest row, and the features that differ: :meth:`Coverage.affects` says which calls they can
   change (a predicate on the operation *and its arguments*), so that :func:`mmsim.live.compare_run` leaves
   out exactly those (and what follows them).

Everything that maps releases to behaviour — ``AddressSpace(kernel="auto")``, the live targets, the CLI,
the widgets and the notebooks — calls this module; nothing else holds a release table. Which releases a
profile models is computed from the same data (:func:`releases_of`).

>>> kernel_for_release("6.1.0-27-amd64"), kernel_for_release("6.18.44"), kernel_for_release("5.1.15")
('6.1', '6.18', '5.1')
>>> c = release_coverage("6.8.0-45-generic"); c.profile, c.exact, c.synthesized
('6.8', True, True)
>>> c = release_coverage("6.16.3"); c.profile, c.exact, c.differences
('6.18', False, ('validate_first', 'multi_vma_move'))
>>> c.affects("mremap", {"flags": 0}), c.affects("mprotect", {"prot": 1})
(True, False)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from .profiles import FEATURES, PROFILES, Profile

__all__ = ["Coverage", "FIRST_MODELLED", "KNOWN_RELEASES", "LAST_MODELLED", "features_of", "host_profile",
           "kernel_for_release", "parse_release", "parse_version", "release_coverage", "releases_of",
           "synthesized_profile"]

#: Every release mmsim knows the behaviour of, in order (5.x ended at 5.19, 6.x at 6.19).
KNOWN_RELEASES: tuple[tuple[int, int], ...] = (
    tuple((5, m) for m in range(20)) + tuple((6, m) for m in range(20)) + ((7, 0), (7, 1))
)
#: The oldest and newest release mmsim knows the behaviour of.
FIRST_MODELLED = KNOWN_RELEASES[0]
LAST_MODELLED = KNOWN_RELEASES[-1]


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


def parse_version(release: str) -> tuple[int, int, int | None]:
    """``(major, minor, sublevel)`` of a release string; the sublevel is None when the string does not carry
    it: Debian's ABI names (``"6.1.0-50-amd64"`` is 6.1.176) write 0 there.

    >>> parse_version("6.12.117+deb13-amd64"), parse_version("6.1.0-50-amd64"), parse_version("6.18.44")
    ((6, 12, 117), (6, 1, None), (6, 18, 44))
    """
    major, minor = parse_release(release)
    m = re.match(r"\s*\d+\.\d+\.(\d+)(-\d+-)?", release)
    if not m or (m.group(1) == "0" and m.group(2)):
        return major, minor, None
    return major, minor, int(m.group(1))


def _name(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _check_range(version: tuple[int, int]) -> None:
    if not FIRST_MODELLED <= version <= LAST_MODELLED:
        raise ValueError(f"Linux {_name(version)} is outside the releases mmsim models "
                         f"({_name(FIRST_MODELLED)} to {_name(LAST_MODELLED)})")


def features_of(version: tuple[int, int], sublevel: int | None = None) -> frozenset[str]:
    """The features (:data:`mmsim.profiles.FEATURES`) a release has: those that landed in mainline at or before
    it, and the stable backports its branch had by ``sublevel`` (None: none counted).

    >>> sorted(features_of((5, 10)))
    ['dontunmap', 'early_map_count_check']
    >>> sorted(features_of((6, 12), 117) - features_of((6, 12)))
    ['dontunmap_no_self_merge', 'dontunmap_pgoff_reset']
    """
    return frozenset(name for name, f in FEATURES.items() if f.present_in(version, sublevel))


def _stable_matters(version: tuple[int, int], sublevel: int | None) -> bool:
    return features_of(version, sublevel) != features_of(version)


def _real() -> list[Profile]:
    return [p for p in PROFILES.values() if not p.hypothetical]


def _named_release(p: Profile) -> tuple[int, int] | None:
    try:
        return parse_release(p.name)
    except ValueError:
        return None


@cache
def synthesized_profile(release: str) -> Profile | None:
    """The profile made of a release's features when no row of :data:`~mmsim.profiles.PROFILES` has exactly
    them, or None (a row models it, it is outside the known releases, or the flows do not implement that
    combination of features, e.g. 6.15's early check before the lock on the 5.x flow).

    Its name is ``"major.minor"``, or ``"major.minor.sublevel"`` where stable backports set the branch's
    releases apart or a row already carries the shorter name (``"6.12.50"``: 6.12 before the 6.12.112
    backports); the kernel function names of traces are those of the newest row released before it.

    >>> synthesized_profile("6.12.50").name, synthesized_profile("6.12.117") is None
    ('6.12.50', True)
    """
    try:
        major, minor, sublevel = parse_version(release)
    except ValueError:
        return None
    version = (major, minor)
    if not FIRST_MODELLED <= version <= LAST_MODELLED:
        return None
    have = features_of(version, sublevel)
    if any(p.features == have for p in _real()):
        return None
    name = _name(version)
    if _stable_matters(version, sublevel) or name in PROFILES:  # never the name of a row with other features
        name = f"{name}.{sublevel or 0}"
    older = [p for p in _real() if (v := _named_release(p)) is not None and v <= version]
    names = max(older, key=lambda p: _named_release(p) or (0, 0)).names if older else PROFILES["5.0"].names
    try:
        return Profile(name, _name(version), have, names=names,
                       description=f"Linux {name}, made of its features: {', '.join(sorted(have))}")
    except ValueError:
        return None


@dataclass(frozen=True)
class Coverage:
    """How a profile models a release: exactly (a row of PROFILES, or ``synthesized`` from its features), or
    as the closest row, with the features that differ.

    ``differences`` names the features (:data:`mmsim.profiles.FEATURES`) the release and the profile do not
    share; :meth:`affects` says whether a call can end differently because of them, and ``operations``
    which operations they touch at all.
    """

    release: str
    version: tuple[int, int]
    profile: str
    differences: tuple[str, ...] = ()
    synthesized: bool = False
    sublevel: int | None = None

    @property
    def exact(self) -> bool:
        """True when the profile models every call of this release (no behaviour differs)."""
        return not any(FEATURES[f].affects is not None for f in self.differences)

    @property
    def operations(self) -> frozenset[str]:
        """The operations some difference can change (``{"mremap"}``); empty when exact."""
        ops = ("mmap", "munmap", "mprotect", "touch", "mremap")
        return frozenset(op for op in ops for f in self.differences if _touches(FEATURES[f].affects, op))

    def affecting(self, op: str, args: Mapping[str, Any]) -> tuple[str, ...]:
        """The differing features that can change how ``op(**args)`` ends (empty: the profile is exact for it)."""
        return tuple(f for f in self.differences if FEATURES[f].applies(op, args))

    def affects(self, op: str, args: Mapping[str, Any]) -> bool:
        """Whether a difference between release and profile can change how the call ``op(**args)`` ends."""
        return bool(self.affecting(op, args))

    def __str__(self) -> str:
        if self.exact:
            how = " (made of its features)" if self.synthesized else ""
            extra = f"; the traces differ in {', '.join(self.differences)}" if self.differences else ""
            return f"Linux {self.release}: modelled exactly by profile {self.profile!r}{how}{extra}"
        scopes = sorted({FEATURES[f].scope for f in self.differences if FEATURES[f].affects is not None})
        return (f"Linux {self.release}: closest profile {self.profile!r}; differs in "
                f"{', '.join(self.differences)} (affects {'; '.join(scopes)})")


def _touches(affects: Any, op: str) -> bool:
    """Whether a predicate can be true for some call of ``op`` (tried on representative arguments)."""
    if affects is None:
        return False
    samples = ({"flags": 0x7, "old_size": 4096, "new_size": 8192, "prot": 0},
               {"flags": 0x3, "old_size": 4096, "new_size": 4096, "prot": 3},
               {"flags": 0, "old_size": 8192, "new_size": 4096, "prot": 1})
    return any(affects(op, s) for s in samples)


@lru_cache(maxsize=1024)
def _coverage(version: tuple[int, int], sublevel: int | None, release: str) -> Coverage:
    have = features_of(version, sublevel)
    for p in _real():
        if p.features == have:
            return Coverage(release, version, p.name, sublevel=sublevel)
    synth = synthesized_profile(f"{_name(version)}.{sublevel}" if sublevel is not None else _name(version))
    if synth is not None:
        return Coverage(release, version, synth.name, synthesized=True, sublevel=sublevel)
    order = list(FEATURES)
    best: tuple[tuple[int, int], Coverage] | None = None
    for p in _real():
        diff = tuple(sorted(have ^ p.features, key=order.index))
        cov = Coverage(release, version, p.name, diff, sublevel=sublevel)
        rank = (len(cov.operations), len(diff))
        if best is None or rank < best[0]:
            best = (rank, cov)
    assert best is not None
    return best[1]


def release_coverage(release: str) -> Coverage:
    """The profile that models ``release`` and how exactly (see the module docstring).

    ValueError for a release before 5.0 or after 7.1 (mmsim does not know what changed there).

    >>> import mmsim
    >>> print(mmsim.release_coverage("5.4"))
    Linux 5.4: modelled exactly by profile '5.1'
    >>> c = mmsim.release_coverage("6.18.44"); c.profile, c.differences
    ('6.18', ())
    """
    major, minor, sublevel = parse_version(release)
    _check_range((major, minor))
    return _coverage((major, minor), sublevel, release)


def kernel_for_release(release: str) -> str:
    """The profile that models kernel ``release`` (exactly, or as closely as :func:`release_coverage` says).

    >>> kernel_for_release("5.4.0-150-generic")
    '5.1'
    """
    return release_coverage(release).profile


def releases_of(profile: Profile) -> str:
    """The releases a profile models exactly, as ranges (``"5.1-5.6"``); ``""`` for a hypothetical profile.

    >>> import mmsim
    >>> releases_of(mmsim.PROFILES["6.18"])
    '6.17-7.0'
    """
    if profile.hypothetical:
        return ""
    versions = [v for v in KNOWN_RELEASES if features_of(v) == profile.features]
    stable = []
    for v in KNOWN_RELEASES:
        firsts = sorted({f.stable[_name(v)] for f in FEATURES.values() if _name(v) in f.stable})
        for i, first in enumerate(firsts):
            if features_of(v, first) == profile.features and v not in versions:
                last = firsts[i + 1] - 1 if i + 1 < len(firsts) else None
                stable.append(f"{_name(v)}.{first}" + (f"-{_name(v)}.{last}" if last is not None else "+"))
    runs: list[list[tuple[int, int]]] = []
    for v in versions:
        i = KNOWN_RELEASES.index(v)
        if runs and KNOWN_RELEASES.index(runs[-1][-1]) == i - 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join([_name(r[0]) if len(r) == 1 else f"{_name(r[0])}-{_name(r[-1])}" for r in runs] + stable)


def host_profile() -> str:
    """The profile of the running kernel (``AddressSpace(kernel="auto")``); ValueError off Linux or for a
    release outside the modelled range."""
    u = os.uname()
    if u.sysname != "Linux":
        raise ValueError(f"kernel='auto' needs Linux; this is {u.sysname}")
    return kernel_for_release(u.release)


def _check_rows() -> None:
    """No two rows of PROFILES model the same features (the policy would be ambiguous)."""
    seen: dict[frozenset[str], str] = {}
    for p in _real():
        if p.features in seen:
            raise ValueError(f"profiles {seen[p.features]!r} and {p.name!r} have the same features")
        seen[p.features] = p.name


_check_rows()
