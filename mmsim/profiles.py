"""Kernel profiles: which checks and which control flow each modelled kernel has.

Profiles differ by data (this table) and a few small hooks in the flows, never by copied flows.
Sources: spec §0 and §3.6; the kernel trees named in each row.
"""

from __future__ import annotations

from dataclasses import dataclass

from .trace import A_CHECKS

__all__ = ["Profile", "PROFILES", "KERNELS", "get_profile"]


@dataclass(frozen=True)
class Profile:
    """What one modelled kernel does.

    Attributes
    ----------
    name: the profile name (``mmsim.KERNELS``).
    src: the kernel tree whose functions the flows mirror, used in trace ``fn`` names.
    modern: 6.17+ mremap flow (``check_mremap_params`` early, vma_lookup and validation before any
        unmap, multi-VMA FIXED moves, MREMAP_DONTUNMAP, grow in place merging with the next VMA) and
        6.x munmap bookkeeping (removed VMAs subtracted at completion).
    early: the early mremap check: None, ``"mremap_early"`` (5.1: FIXED only; 6.18: FIXED or
        DONTUNMAP), ``"alt_early"`` (5.1-alt) or ``"mremap_early_v7"`` (7.1: every call).
    move_check: move_vma's check, ``"move_vma_limit"`` (s <= 3 fails) or ``"move_vma_limit_v7"``.
    mprotect_unaccount: mprotect to read-only drops VM_ACCOUNT of an unfaulted private anon VMA (v6.7+).
    transactional: run every call on a scratch state and commit only within the limits (``ideal``).
    disabled: checks removed from the flow (``ideal`` removes every A-check).
    """

    name: str
    src: str
    modern: bool
    early: str | None
    move_check: str
    mprotect_unaccount: bool
    transactional: bool = False
    disabled: frozenset = frozenset()
    description: str = ""

    @property
    def a_checks(self) -> frozenset:
        """The anticipatory checks this profile evaluates (spec §6)."""
        return frozenset(c for c in (self.early, self.move_check) if c) - self.disabled


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "5.0", "5.0", modern=False, early=None, move_check="move_vma_limit", mprotect_unaccount=False,
            description="v5.0, before ea2c3f6f5545: FIXED unmaps destination and tail before any check",
        ),
        Profile(
            "5.1", "5.1", modern=False, early="mremap_early", move_check="move_vma_limit",
            mprotect_unaccount=False,
            description="v5.1: early worst-case check (map_count + 2) >= max - 3 for MREMAP_FIXED",
        ),
        Profile(
            "6.18", "6.18", modern=True, early="mremap_early", move_check="move_vma_limit",
            mprotect_unaccount=True,
            description="6.17-7.0 (our machines): validation before unmaps, multi-VMA moves, DONTUNMAP",
        ),
        Profile(
            "7.1", "7.1", modern=True, early="mremap_early_v7", move_check="move_vma_limit_v7",
            mprotect_unaccount=True,
            description="7.1: map_count + 4 <= max for every mremap; move check map_count + 2 <= max",
        ),
        Profile(
            "5.1-alt", "5.1", modern=False, early="alt_early", move_check="move_vma_limit",
            mprotect_unaccount=False,
            description="2019 alternative (never merged): cheap trigger, then exact prediction of the unmaps",
        ),
        Profile(
            "ideal", "5.0", modern=False, early=None, move_check="move_vma_limit", mprotect_unaccount=False,
            transactional=True, disabled=A_CHECKS,
            description="5.0's flow without anticipatory checks, committed only if within the limits",
        ),
    )
}

#: The profile names, in teaching order.
KERNELS: tuple[str, ...] = tuple(PROFILES)


def get_profile(kernel: str | Profile) -> Profile:
    """Look a profile up by name; ``ValueError`` names the choices for an unknown one."""
    if isinstance(kernel, Profile):
        return kernel
    try:
        return PROFILES[str(kernel)]
    except KeyError:
        raise ValueError(f"unknown kernel profile {kernel!r}; choose one of {', '.join(KERNELS)}") from None
