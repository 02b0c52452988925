"""mmsim.workloads (notebook 10): the public reports as data, and the model's answers checked against the rules
of the semantics reference worked out here, not read from the code under test."""

from __future__ import annotations

import pytest

from mmsim.workloads import REPORTS, calls_that_fit, elasticsearch_check, one_over_the_limit, thread_stacks


def test_every_report_names_its_public_page() -> None:
    for r in REPORTS.values():
        assert r.source.startswith("https://"), r.name
    assert REPORTS["elasticsearch"].numbers["required"] == 1 << 18  # Elasticsearch's docs: 262,144


@pytest.mark.parametrize("limit, passes", [(65_530, False), (262_143, False), (262_144, True), (1 << 20, True)])
def test_elasticsearch_check(limit: int, passes: bool) -> None:
    msg = elasticsearch_check(limit)
    assert (msg is None) is passes
    if msg:
        assert f"[{limit}]" in msg and "[262144]" in msg


@pytest.mark.parametrize("limit", [5, 10, 65_530])
def test_mmap_reaches_one_over_the_limit(limit: int) -> None:
    """§3.1: mmap refuses only when map_count > max: from max - 1 two mappings succeed (max, then max + 1) and the
    third fails with ENOMEM, the sequence the mimalloc report measured at 65,530 (65,530, 65,531, ENOMEM)."""
    assert one_over_the_limit(limit) == [(limit, "OK"), (limit + 1, "OK"), (limit + 1, "ENOMEM")]
    r = REPORTS["mimalloc-purge"].numbers
    assert one_over_the_limit(r["at_limit"])[1][0] == r["last_count"]


@pytest.mark.parametrize("limit, base", [(20, 5), (1000, 445), (21, 5), (7, 7)])
def test_thread_stacks_cost_two_vmas(limit: int, base: int) -> None:
    """§2.1 and §3.3: a stack is an mmap (+1, allowed up to map_count == max) and a guard split (+1, needs
    map_count < max). After t stacks map_count = base + 2t; stack t + 1 needs base + 2t + 1 < max."""
    t = 0
    while base + 2 * t + 1 < limit:
        t += 1
    r = thread_stacks(limit, base)
    assert r["threads"] == t and r["failed_at"] == ("mprotect" if base + 2 * t <= limit else "mmap")


def test_calls_that_fit_follows_the_free_slots_table() -> None:
    """§4: seed-W needs 6 free slots on 5.0/5.1/6.18 and 4 on 7.1 and adds 3; its layout adds 2 more first.
    So with f free slots n calls fit while f - 5 (n - 1) >= need + 2."""
    for free in range(0, 30):
        got = calls_that_fit(free, "seed-W", ["5.1", "7.1"])
        for kernel, need in (("5.1", 6), ("7.1", 4)):
            want = 0 if free < need + 2 else (free - need - 2) // 5 + 1
            assert got[kernel]["calls"] == want, (free, kernel)
    assert calls_that_fit(3, "munmap-whole", ["6.18"])["6.18"]["calls"] is None  # net 0: fits forever
