"""Live halves of the bad-input reproducers: the host kernel against model profile 6.18, op by op.

Each case here once found (or could have found) a disagreement: the kernel is the oracle, nothing is
expected by hand except that the model agrees. The model half of each is in tests/test_bad_input.py.
"""

from __future__ import annotations

import live_tally
import pytest

from mmsim import live
from mmsim.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)

pytestmark = pytest.mark.live

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
PA = MAP_PRIVATE | MAP_ANONYMOUS
FIXED = PA | MAP_FIXED
MOVE = MREMAP_MAYMOVE | MREMAP_FIXED
ARENA = 64
RESET = ("mmap", {"addr": 0, "length": ARENA * P, "prot": PROT_NONE, "flags": FIXED | MAP_NORESERVE})


@pytest.fixture(scope="module")
def host() -> live.KernelInfo:
    info = live.kernel_info()
    if not info.can_run:
        pytest.skip(info.reason)
    if info.profile != "6.18":
        pytest.skip(f"these cases check profile 6.18; this host is {info.release} ({info.reason})")
    return info


def check(ops: list) -> live.Comparison:
    cmp = live.compare(ops, "6.18", arena_pages=ARENA, timeout=60)
    live_tally.record(cmp)
    assert cmp.all_match, str(cmp)
    return cmp


def test_overlap_check_wraps_at_2_64(host) -> None:
    """old_len = 2**64 - P: no overlap (the sum wraps), the destination page is unmapped, then EINVAL."""
    cmp = check([
        RESET,
        ("mmap", {"addr": 0, "length": 4 * P, "prot": RW, "flags": FIXED}),
        ("mmap", {"addr": 32 * P, "length": 4 * P, "prot": PROT_READ, "flags": FIXED}),
        ("mremap", {"old_address": 0, "old_size": 2**64 - P, "new_size": P, "flags": MOVE, "new_address": 32 * P}),
    ])
    last = cmp.rows[-1]
    assert last.live_errno != 0 and last.live_layout != cmp.rows[-2].live_layout  # a partial failure, live


def test_old_len_zero_fixed_onto_its_own_source(host) -> None:
    """mremap(a, 0, 2P, MAYMOVE|FIXED, a) of a shared VMA: the destination unmap removes the source's head,
    then the re-lookup fails (semantics §5 row 3)."""
    cmp = check([
        RESET,
        ("mmap", {"addr": 8 * P, "length": 4 * P, "prot": RW, "flags": MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED}),
        ("mremap", {"old_address": 8 * P, "old_size": 0, "new_size": 2 * P, "flags": MOVE, "new_address": 8 * P}),
    ])
    assert cmp.rows[-1].live_errno != 0


def test_fixed_shrink_with_old_len_beyond_task_size(host) -> None:
    """FIXED shrink, old_len = 2**63, destination below the source: destination unmapped, then EINVAL from
    the tail munmap's range check (semantics §5 row 4)."""
    cmp = check([
        RESET,
        ("mmap", {"addr": 0, "length": 16 * P, "prot": RW, "flags": FIXED}),
        ("mremap", {"old_address": 8 * P, "old_size": 2**63, "new_size": P, "flags": MOVE, "new_address": 0}),
    ])
    assert cmp.rows[-1].live_errno != 0


def test_touch_over_a_vma_end_faults_after_faulting_the_vma(host) -> None:
    """touch runs off the end of a VMA into a hole: EFAULT at the first unmapped page, as the model says."""
    check([
        RESET,
        ("munmap", {"addr": 0, "length": ARENA * P}),
        ("mmap", {"addr": 0, "length": 2 * P, "prot": RW, "flags": FIXED}),
        ("touch", {"addr": 0, "length": 4 * P}),
    ])
