"""The 2019 bug on a real kernel: a scenario on 5.10 built with ea2c3f6f5545 reverted, next to the control.

:func:`bug_on_real_kernels` runs a catalogue scenario (``seed-W`` by default) at each number of free slots on
the two kernels :mod:`mmsim.live.build` makes from one source and config: ``5.10-revert-ea2c3f6f5545``
(the fix reverted: 5.0's order) and ``5.10-control``. Each kernel boots once for all the free slots (a boot
is a few seconds under qemu), and the result, a :class:`BugRun`, holds for each kernel and free-slot count
what the call returned, the change of ``map_count``, and the arena's lines of the child's
``/proc/self/maps`` before and after the call, with the model's outcome under the kernel's profile.

Where the kernels cannot run (off Linux, no qemu, no compiler), the result recorded with this package is
used instead (``recorded=True``; it was measured on the project's machines, ``RECORDED``), so a course
notebook can always show the moment, and says which it shows.

>>> run = bug_on_real_kernels(live=False)
>>> run.recorded, sorted(run.kernels)
(True, ['5.10-control', '5.10-revert-ea2c3f6f5545'])
>>> r = run.at("5.10-revert-ea2c3f6f5545", 3); (r.errno_name, r.changed)
('ENOMEM', True)
>>> c = run.at("5.10-control", 3); (c.errno_name, c.changed)
('ENOMEM', False)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..constants import PAGE_SIZE
from .comparison import compare_run
from .kernels import cached_image, guest_kernel
from .results import LiveRun, LiveVMA, errno_name
from .runner import LiveError, build_run, normalize_ops, run

__all__ = ["BUG_KERNELS", "BugRun", "CallResult", "RECORDED", "bug_on_real_kernels", "html_view", "record"]

#: The kernel with the fix reverted, and the control built from the same source and config.
BUG_KERNELS = ("5.10-revert-ea2c3f6f5545", "5.10-control")
#: The recorded result shipped with the package (one run of :func:`record` on the project's machines).
RECORDED = Path(__file__).resolve().parent / "kernel_build" / "recorded-seed-W.json"
_CACHE: dict[tuple[str, tuple[int, ...]], BugRun] = {}


@dataclass(frozen=True)
class CallResult:
    """One call on one kernel: errno, the map_count change, the arena before and after (as /proc shows it)."""

    kernel: str
    free_slots: int
    errno: int
    delta: int
    before: tuple[LiveVMA, ...]
    after: tuple[LiveVMA, ...]
    base: int
    model_kind: str
    model_errno: int | None
    match: bool

    @property
    def errno_name(self) -> str:
        """``"OK"`` or the errno's name."""
        return errno_name(self.errno)

    @property
    def changed(self) -> bool:
        """Whether the arena's VMAs differ after the call."""
        return self.before != self.after

    def maps(self, when: str = "after") -> str:
        """The arena's lines of ``/proc/PID/maps`` ``"before"`` or ``"after"`` the call (absolute addresses;
        anonymous memory, so device and inode are 0)."""
        vmas = self.before if when == "before" else self.after
        return "\n".join(f"{self.base + v.start:012x}-{self.base + v.end:012x} {v.perms} {v.pgoff * PAGE_SIZE:08x} "
                         f"00:00 0" for v in vmas)


@dataclass(frozen=True)
class BugRun:
    """A scenario at each number of free slots on each kernel of :data:`BUG_KERNELS`."""

    scenario: str
    results: Mapping[str, Mapping[int, CallResult]]
    releases: Mapping[str, str]
    profiles: Mapping[str, str]
    max_map_count: int
    recorded: bool
    note: str = ""

    @property
    def kernels(self) -> tuple[str, ...]:
        """The kernels run."""
        return tuple(self.results)

    @property
    def free_slots(self) -> tuple[int, ...]:
        """The free-slot counts run, in order."""
        return tuple(next(iter(self.results.values())))

    def at(self, kernel: str, free_slots: int) -> CallResult:
        """The call on ``kernel`` at ``free_slots``."""
        return self.results[kernel][free_slots]

    def table(self) -> Any:
        """One row per free-slot count: each kernel's errno and map_count change, whether the arena changed,
        and whether the model agreed (a pandas DataFrame)."""
        import pandas as pd

        rows = []
        for s in self.free_slots:
            row: dict[str, Any] = {"free slots": s}
            for k in self.kernels:
                r = self.at(k, s)
                short = k.replace("-ea2c3f6f5545", "")
                row[f"{short}: kernel"] = f"{r.errno_name} {r.delta:+d}" + (" (arena changed)" if r.changed
                                                                               and r.errno else "")
                row[f"{short}: model"] = r.model_kind + (" ✓" if r.match else " ✗")
            rows.append(row)
        return pd.DataFrame(rows).set_index("free slots")


def _cases(ops: list, free_slots: Iterable[int], arena_pages: int) -> tuple[list, dict[int, int], dict[int, range]]:
    reset = ("mmap", {"addr": 0, "length": arena_pages * PAGE_SIZE, "prot": 0, "flags": 0x22 | 0x10 | 0x4000})
    out: list = []
    free_slots_before: dict[int, int] = {}
    spans: dict[int, range] = {}
    for s in free_slots:
        out.append(reset)
        first = len(out)
        out.extend(ops)
        spans[s] = range(first, len(out))
        for i in spans[s]:
            free_slots_before[i] = s
    return out, free_slots_before, spans


def _results(scenario: str, kernel: str, live: LiveRun, spans: Mapping[int, range]) -> dict[int, CallResult]:
    """Each free-slot count's call, with the model's outcome class under the kernel's profile (at the guest's
    max_map_count) and whether the model's replay of every operation matched the kernel."""
    from ..scenarios import get

    profile = guest_kernel(kernel).profile
    cmp = compare_run(live, profile)
    sc = get(scenario)
    out = {}
    for s, span in spans.items():
        last, prev = live.results[span[-1]], live.results[span[-2]]
        model = sc.run(cmp.profile, s, live.max_map_count)
        out[s] = CallResult(kernel, s, last.errno, last.delta, prev.vmas, last.vmas, live.base, model.kind,
                            model.errno, all(cmp.rows[i].match for i in span))
    return out


def bug_on_real_kernels(scenario: str = "seed-W", free_slots: Sequence[int] = range(0, 9), *,
                        live: bool | None = None, kernels: Sequence[str] = BUG_KERNELS,
                        timeout: float = 240) -> BugRun:
    """Run ``scenario``'s call at each of ``free_slots`` on the reverted 5.10 and its control (one boot each).

    ``live=None`` runs the kernels when they can run here and are already built (qemu available; a build
    takes minutes, so it is left to ``mmsim kernels --fetch``) and uses the recorded result otherwise;
    ``live=False`` always uses the recorded result (seed-W, 0-8 free slots); ``live=True`` raises
    :class:`~mmsim.live.LiveError` when a kernel cannot run. Results are cached per process.
    """
    from ..scenarios import get
    from .host import kernel_info

    key = (scenario, tuple(free_slots))
    if live is not False and key in _CACHE:
        return _CACHE[key]
    can = all(kernel_info(target="qemu", kernel=k).can_run for k in kernels)
    why = "" if can else next(kernel_info(target="qemu", kernel=k).reason for k in kernels
                              if not kernel_info(target="qemu", kernel=k).can_run)
    if can and live is None:  # never a kernel build (minutes) inside a notebook's Run All
        missing = [k for k in kernels if cached_image(k) is None]
        if missing:
            can, why = False, (f"{', '.join(missing)} not built here yet (`mmsim kernels --fetch` builds them; "
                               "make test does)")
    if live is False or (live is None and not can):
        return _recorded(scenario, why)
    sc = get(scenario)
    ops, free_slots_before, spans = _cases(sc.live_ops(), free_slots, sc.arena_pages)
    results, releases, profiles, mx = {}, {}, {}, 0
    for k in kernels:
        r = run(ops, arena_pages=sc.arena_pages, free_slots_before=free_slots_before, timeout=timeout, target="qemu",
                kernel=k)
        results[k] = _results(scenario, k, r, spans)
        releases[k] = r.release
        profiles[k] = guest_kernel(k).profile or compare_run(r).profile
        mx = r.max_map_count
    out = BugRun(scenario, results, releases, profiles, mx, recorded=False)
    _CACHE[key] = out
    return out


def record(path: Path = RECORDED, scenario: str = "seed-W") -> None:
    """Run the scenario live on both kernels and write the raw child reports (``RECORDED``)."""
    from ..scenarios import get

    sc = get(scenario)
    ops, free_slots_before, spans = _cases(sc.live_ops(), range(0, 9), sc.arena_pages)
    data: dict[str, Any] = {"scenario": scenario, "arena_pages": sc.arena_pages, "ops": ops,
                            "spans": {str(s): [sp.start, sp.stop] for s, sp in spans.items()}, "runs": {}}
    for k in BUG_KERNELS:
        r = run(ops, arena_pages=sc.arena_pages, free_slots_before=free_slots_before, timeout=240, target="qemu",
                kernel=k)
        data["runs"][k] = r.raw
    path.write_text(json.dumps(data) + "\n")


def _recorded(scenario: str, why: str) -> BugRun:
    if scenario != "seed-W":
        raise LiveError(f"only seed-W is recorded, and the kernels cannot run here: {why}")
    data = json.loads(RECORDED.read_text())
    norm = normalize_ops([tuple(op) for op in data["ops"]], data["arena_pages"])
    spans = {int(s): range(a, b) for s, (a, b) in data["spans"].items()}
    results, releases, profiles, mx = {}, {}, {}, 0
    for k, raw in data["runs"].items():
        r = build_run(raw, norm, target="qemu", kernel=k)
        results[k] = _results(scenario, k, r, spans)
        releases[k] = r.release
        profiles[k] = guest_kernel(k).profile or compare_run(r).profile
        mx = r.max_map_count
    note = ("recorded on the project's machines (5.10.223 from Debian's linux-source-5.10, built by "
            "mmsim.live.build, under qemu's TCG)" + (f"; the kernels cannot run here: {why}" if why else ""))
    return BugRun(scenario, results, releases, profiles, mx, recorded=True, note=note)



def html_view(result: BugRun, free_slots: int) -> str:
    """The call at ``free_slots`` on both kernels, as HTML: the readout line per kernel and the arena's lines of
    ``/proc/PID/maps`` before and after, side by side (what the 2019 bug leaves behind)."""
    import html

    cells = []
    for k in result.kernels:
        r = result.at(k, free_slots)
        verdict = ("refused: nothing changed" if r.errno and not r.changed else
                   "FAILED AFTER CHANGING THE ADDRESS SPACE" if r.errno else "completed")
        cells.append(
            f'<td style="vertical-align:top;padding-right:2em"><b>{html.escape(k)}</b> '
            f"(Linux {html.escape(result.releases[k])}, profile {html.escape(result.profiles[k])})<br>"
            f"mremap: <b>{html.escape(r.errno_name)}</b>, map_count {r.delta:+d}: {verdict}; the model says "
            f"{html.escape(r.model_kind)}{'' if r.match else ' (the model DIFFERS)'}"
            f"<br>before:<pre>{html.escape(r.maps('before'))}</pre>after:<pre>{html.escape(r.maps('after'))}</pre>"
            "</td>")
    slots = f"{free_slots} free slot{'' if free_slots == 1 else 's'}"
    head = (f"<p><b>{html.escape(result.scenario)} with {slots}</b> (guest vm.max_map_count "
            f"{result.max_map_count}){' — ' + html.escape(result.note) if result.recorded else ''}</p>")
    return head + "<table><tr>" + "".join(cells) + "</tr></table>"
