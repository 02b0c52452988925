"""The host: which kernel this is, and whether live runs can run here and be compared with a profile."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..constants import PAGE_SIZE
from ..profiles import profile_for_release

__all__ = ["KernelInfo", "LIVE_MACHINES", "kernel_info"]

#: Machines whose syscall numbers the child knows (mmsim.live.child.SYSCALLS).
LIVE_MACHINES = ("x86_64", "aarch64")


class LiveError(RuntimeError):
    """A live run could not be carried out: timeout, crash of the child, or a target it cannot reach."""


@dataclass(frozen=True)
class KernelInfo:
    """What the host is, and whether live runs can be compared with an mmsim profile on it.

    ``can_run`` is true when live runs work here (Linux, a machine with a syscall table, 4 KiB pages,
    a readable max_map_count); ``supported`` also needs the release to be covered by a profile.
    ``reason`` says why not (empty when supported).
    """

    system: str
    release: str
    machine: str
    max_map_count: int | None
    profile: str | None
    supported: bool
    reason: str
    can_run: bool

    def __str__(self) -> str:
        state = "supported" if self.supported else f"unsupported: {self.reason}"
        return (
            f"{self.system} {self.release} ({self.machine}), max_map_count={self.max_map_count}, "
            f"profile={self.profile!r}, {state}"
        )


def kernel_info() -> KernelInfo:
    """Describe the host kernel: release, ``vm.max_map_count`` (read only), profile and support."""
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
