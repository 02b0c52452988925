"""The kernels live runs can reach: this machine's (``target="host"``) and user-mode Linux (``"uml"``).

:func:`kernel_info` says which kernel a target is, whether live runs can run there, and which profile
models it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..constants import PAGE_SIZE
from ..profiles import profile_for_release
from ..releases import release_coverage
from . import uml as _uml

__all__ = ["KernelInfo", "LIVE_MACHINES", "TARGETS", "UML_MAX_MAP_COUNT", "kernel_info"]

#: Machines whose syscall numbers the child knows (mmsim.live.child.SYSCALLS).
LIVE_MACHINES = ("x86_64", "aarch64")
#: Where live runs can run: this machine's kernel, or a user-mode Linux guest (:mod:`mmsim.live.uml`).
TARGETS = ("host", "uml")
#: The guest's ``vm.max_map_count`` that ``run(target="uml")`` sets unless told otherwise: every limit check
#: is relative to the sysctl, and a low value makes near-limit fills (and /proc/self/maps reads) cheap.
UML_MAX_MAP_COUNT = 1024


@dataclass(frozen=True)
class KernelInfo:
    """What a target's kernel is, and whether live runs can be compared with an mmsim profile on it.

    ``can_run`` is true when live runs work there (Linux, a machine with a syscall table, 4 KiB pages, a
    readable max_map_count; for ``"uml"``: a bootable UML kernel); ``supported`` also needs the release to
    be modelled exactly by ``profile``. ``reason`` says why not (empty when supported). For ``"uml"``,
    ``max_map_count`` is the guest value runs set by default (:data:`UML_MAX_MAP_COUNT`).
    """

    system: str
    release: str
    machine: str
    max_map_count: int | None
    profile: str | None
    supported: bool
    reason: str
    can_run: bool
    target: str = "host"

    def __str__(self) -> str:
        state = "supported" if self.supported else f"unsupported: {self.reason}"
        where = " under user-mode Linux" if self.target == "uml" else ""
        return (
            f"{self.system} {self.release}{where} ({self.machine}), max_map_count={self.max_map_count}, "
            f"profile={self.profile!r}, {state}"
        )


def kernel_info(target: str = "host") -> KernelInfo:
    """Describe a target's kernel: release, ``vm.max_map_count`` (read only), profile and support.

    ``"host"``: this machine (profile from :func:`mmsim.profile_for_release`). ``"uml"``: the user-mode Linux
    kernel :mod:`mmsim.live.uml` boots, found without booting it (its ``--version``); the profile is
    :func:`mmsim.kernel_for_release`'s, and ``supported`` says whether it models that release exactly.
    """
    if target == "uml":
        return _uml_info()
    if target != "host":
        raise ValueError(f"target must be one of {', '.join(map(repr, TARGETS))}, not {target!r}")
    uname = os.uname()
    system, release, machine = uname.sysname, uname.release, uname.machine
    max_count: int | None = None
    if system == "Linux":
        try:
            with open("/proc/sys/vm/max_map_count") as f:
                max_count = int(f.read())
        except (OSError, ValueError):
            max_count = None
    profile = profile_for_release(release) if system == "Linux" else None
    reason = ""
    if system != "Linux":
        reason = "live runs need Linux"
    elif machine not in LIVE_MACHINES:
        reason = f"live runs need x86_64 or aarch64, not {machine}"
    elif os.sysconf("SC_PAGE_SIZE") != PAGE_SIZE:
        reason = f"live runs need {PAGE_SIZE}-byte pages, not {os.sysconf('SC_PAGE_SIZE')}"
    elif max_count is None:
        reason = "cannot read /proc/sys/vm/max_map_count"
    can_run = not reason
    if can_run and profile is None:
        major_minor = ".".join(release.split(".")[:2]) or release
        reason = f"Linux {major_minor} is not covered by any mmsim profile"
    return KernelInfo(system, release, machine, max_count, profile, not reason, reason, can_run)


def _uml_info() -> KernelInfo:
    ok, why = _uml.uml_available()
    release = (_uml.uml_release() if ok else None) or "unknown"
    machine = os.uname().machine  # a UML kernel runs on the machine it was built for, and reports it
    profile: str | None = None
    reason = why
    if ok:
        try:
            coverage = release_coverage(release)
        except ValueError as e:
            reason = str(e)
        else:
            profile = coverage.profile
            if not coverage.exact:
                reason = str(coverage)
    return KernelInfo("Linux", release, machine, UML_MAX_MAP_COUNT, profile, not reason, reason, ok, "uml")
