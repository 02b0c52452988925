"""Real workloads and ``vm.max_map_count`` (notebook 10): what public reports measured, as data with their
sources, and the model's answers for the same situations.

:data:`REPORTS` holds the reports (each number with the public page it comes from); the functions compute what
the model says about them:

* :func:`elasticsearch_check`: Elasticsearch's bootstrap check, as its documentation states it;
* :func:`one_over_the_limit`: a process at its limit maps once more and then fails (the lenient ``>`` of
  ``do_mmap()``, semantics §3.1), the sequence the mimalloc report measured (65,530, 65,531, ENOMEM);
* :func:`thread_stacks`: how many thread stacks with a guard page fit (two VMAs each);
* :func:`calls_that_fit`: for a process (e.g. read from ``/proc/PID/maps``), how many successive calls of a
  scenario's shape fit under each kernel.

The reports are public pages about real programs; nothing here was measured by mmsim. Section numbers (§) refer
to ``docs/semantics.md``.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .addrspace import AddressSpace
from .constants import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE
from .errors import MMError
from .scenarios import Scenario, get

__all__ = [
    "ELASTICSEARCH_MIN",
    "REPORTS",
    "Report",
    "calls_that_fit",
    "elasticsearch_check",
    "one_over_the_limit",
    "thread_stacks",
]

P = PAGE_SIZE


@dataclass(frozen=True)
class Report:
    """One public report: what it is about, its numbers (as the page gives them) and the page."""

    name: str
    about: str
    numbers: Mapping[str, int]
    source: str
    note: str = ""


#: The public reports notebook 10 works through, by name.
REPORTS: Mapping[str, Report] = MappingProxyType({r.name: r for r in (
    Report("elasticsearch", "Elasticsearch refuses to start in production mode below 262,144 memory-mapped areas "
           "(its 'maximum map count check'); its error reads 'max virtual memory areas vm.max_map_count [65530] is "
           "too low, increase to at least [262144]'",
           {"required": 262_144, "recommended": 1_048_576, "linux_default": 65_530},
           "https://www.elastic.co/guide/en/elasticsearch/reference/8.18/bootstrap-checks-max-map-count.html",
           "enforced on Linux only, and only when the store type uses mmap (mmapfs or hybridfs)"),
    Report("mimalloc-purge", "mimalloc's purging (decommit) splits its arenas as the working set peaks: a FlowLog "
           "run sampled /proc/PID/maps and saw the VMA count climb from 445 to the limit, reach one over it, and then "
           "mmap fail with ENOMEM (SIGABRT)",
           {"vmas_before": 445, "vmas_mid": 44_982, "at_limit": 65_530, "last_count": 65_531},
           "https://github.com/flowlog-rs/flowlog/pull/177",
           "the run completed with vm.max_map_count = 1,048,576"),
    Report("fedora-39", "Fedora Linux 39 raised the default to 1,048,576 so that Windows games run through Wine or "
           "Steam work out of the box", {"default": 1_048_576},
           "https://fedoraproject.org/w/index.php?title=Changes/IncreaseVmMaxMapCount&oldid=679040"),
    Report("arch-2024", "Arch Linux raised the default to 1,048,576 in the filesystem package 2024.04.07-1, after "
           "Ubuntu 24.04 LTS and Fedora 39, for games under Steam Play (Proton) such as DayZ, Hogwarts Legacy and "
           "Counter-Strike 2", {"default": 1_048_576},
           "https://www.phoronix.com/news/Arch-Linux-vm.max_map_count"),
    Report("steamos", "SteamOS sets the limit to 2,147,483,642 (as reported; not checked against a SteamOS image "
           "here): INT_MAX - 5, the same margin of 5 that Linux's own default keeps below USHRT_MAX "
           "(DEFAULT_MAX_MAP_COUNT = USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN, include/linux/mm.h)",
           {"default": 2_147_483_642},
           "https://blog.gitcode.com/84a3bd478fa4b2c2143cef5a6db5b703.html",
           "a secondary source: the project has not read SteamOS's own sysctl file"),
    Report("lenient-mmap", "mmap's check is map_count > max, not >=: a 2025 series first treated it as an "
           "off-by-one; its v4 documents it instead, 'As Hugh pointed out, the lenient check (>) in do_mmap() and "
           "do_brk_flags() is intentional to allow for potential VMA merges or expansions when the process is at "
           "the sysctl_max_map_count limit'", {},
           "https://lore.kernel.org/r/20251028212528.681081-2-kaleshsingh@google.com",
           "Kalesh Singh, '[PATCH v4 1/5] mm: Document lenient map_count checks'; Hugh Dickins's point as the "
           "series reports it"),
)})

#: Elasticsearch's maximum map count check: at least 1 << 18 areas (its documentation, :data:`REPORTS`).
ELASTICSEARCH_MIN = REPORTS["elasticsearch"].numbers["required"]


def elasticsearch_check(max_map_count: int) -> str | None:
    """Elasticsearch's bootstrap check on a limit: its error text below :data:`ELASTICSEARCH_MIN`, else None.

    >>> elasticsearch_check(65530)
    'max virtual memory areas vm.max_map_count [65530] is too low, increase to at least [262144]'
    >>> elasticsearch_check(1048576) is None
    True
    """
    if max_map_count >= ELASTICSEARCH_MIN:
        return None
    return (f"max virtual memory areas vm.max_map_count [{max_map_count}] is too low, increase to at least "
            f"[{ELASTICSEARCH_MIN}]")


def one_over_the_limit(max_map_count: int = 65_530, kernel: str = "6.18", start: int | None = None) -> list[
        tuple[int, str]]:
    """A process that maps new, unmergeable one-page VMAs from ``start`` VMAs (default: one below the limit)
    until mmap fails: ``(map_count after the call, outcome)`` per call. The last mapping that succeeds takes
    ``map_count`` to ``max_map_count + 1`` (do_mmap() refuses only when ``map_count > max``, semantics §3.1).

    >>> one_over_the_limit(10)
    [(10, 'OK'), (11, 'OK'), (11, 'ENOMEM')]
    """
    mm = AddressSpace(kernel, max_map_count)
    mm.fill_to(max_map_count - 1 if start is None else start)
    out: list[tuple[int, str]] = []
    prot = PROT_READ
    while True:
        try:
            mm.mmap(None, P, prot, MAP_PRIVATE | MAP_ANONYMOUS)
            out.append((mm.map_count, "OK"))
        except MMError as e:
            out.append((mm.map_count, _errno.errorcode.get(e.errno or 0, str(e.errno))))
            return out
        prot = PROT_READ | PROT_WRITE if prot == PROT_READ else PROT_READ  # neighbours never merge


def thread_stacks(max_map_count: int, base: int, kernel: str = "6.18", stack_pages: int = 4) -> dict[str, Any]:
    """How many thread stacks fit in a process of ``base`` VMAs: each is an mmap of ``stack_pages`` read-write
    pages and an mprotect of its lowest page to PROT_NONE, the guard (two VMAs, since the guard splits the
    mapping, semantics §2.1). Runs the model until a stack cannot be made; returns ``threads`` (complete
    stacks), ``map_count`` at the end and ``failed_at`` (the call that failed: ``mmap`` or ``mprotect``).

    >>> thread_stacks(20, 5)
    {'threads': 7, 'map_count': 19, 'failed_at': 'mprotect'}
    """
    mm = AddressSpace(kernel, max_map_count)
    mm.fill_to(base)
    threads = 0
    while True:
        try:
            a = mm.mmap(None, stack_pages * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        except MMError:
            return {"threads": threads, "map_count": mm.map_count, "failed_at": "mmap"}
        try:
            mm.mprotect(a, P, PROT_NONE)
        except MMError:
            mm.munmap(a, stack_pages * P)  # a thread library gives the stack back when the guard fails
            return {"threads": threads, "map_count": mm.map_count, "failed_at": "mprotect"}
        threads += 1


def calls_that_fit(free_slots: int, scenario: Scenario | str, kernels: Iterable[str]) -> dict[str, Any]:
    """For a process with ``free_slots`` free slots: how many successive calls of ``scenario``'s shape (each on
    its own fresh VMAs, as the scenario lays them out) succeed under each kernel before the first is refused.

    A call needs :func:`mmsim.experiments.min_free_slots` free slots before it and changes ``map_count`` by
    ``delta`` (its change when it succeeds, which includes the VMAs its layout adds); so ``n`` calls fit when
    ``free_slots - (n - 1) * delta >= need``. A call whose ``delta`` is 0 or less fits forever once it fits
    (``None``). Returns ``{kernel: {"need", "delta", "calls"}}``.

    >>> calls_that_fit(10, "munmap-punch", ["6.18"])["6.18"]
    {'need': 2, 'delta': 2, 'calls': 5}
    """
    from .tables import min_free_slots

    sc = get(scenario)
    out: dict[str, Any] = {}
    for k in kernels:
        layout = len(sc.build(k, 1 << 16))
        need_call = min_free_slots(sc, k, range(0, 16))
        ok = sc.run(k, 32, max_map_count=1 << 16)
        delta_call = ok.mc_after - ok.mc_before
        # the layout's own VMAs come out of the same free slots before each call
        need = None if need_call is None else need_call + layout
        delta = delta_call + layout
        if need is None or free_slots < need:
            calls: int | None = 0
        elif delta <= 0:
            calls = None
        else:
            calls = (free_slots - need) // delta + 1
        out[k] = {"need": need, "delta": delta, "calls": calls}
    return out
