"""Live halves of the bad-input reproducers: every live kernel against its profile, op by op.

Each case here once found (or could have found) a disagreement: the kernel is the oracle, nothing is
expected by hand except that the model agrees. The model half of each is in tests/test_bad_input.py.
"""

from __future__ import annotations

import live_kernels
import pytest

from mmsim.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
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


#: The cases, each as found: (name, ops). Each runs after a reset of the arena (live_ops.batch).
CASES = [
    # old_len = 2**64 - P: no overlap (the sum wraps), the destination page is unmapped, then EINVAL.
    ("overlap-wraps-at-2**64", [
        ("mmap", {"addr": 0, "length": 4 * P, "prot": RW, "flags": FIXED}),
        ("mmap", {"addr": 32 * P, "length": 4 * P, "prot": PROT_READ, "flags": FIXED}),
        ("mremap", {"old_address": 0, "old_size": 2**64 - P, "new_size": P, "flags": MOVE, "new_address": 32 * P}),
    ]),
    # mremap(a, 0, 2P, MAYMOVE|FIXED, a) of a shared VMA: the destination unmap removes the source's head,
    # then the re-lookup fails (semantics §5 row 3).
    ("old-len-0-fixed-onto-its-own-source", [
        ("mmap", {"addr": 8 * P, "length": 4 * P, "prot": RW, "flags": MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED}),
        ("mremap", {"old_address": 8 * P, "old_size": 0, "new_size": 2 * P, "flags": MOVE, "new_address": 8 * P}),
    ]),
    # FIXED shrink, old_len = 2**63, destination below the source: destination unmapped, then EINVAL from
    # the tail munmap's range check (semantics §5 row 4).
    ("fixed-shrink-old-len-beyond-task-size", [
        ("mmap", {"addr": 0, "length": 16 * P, "prot": RW, "flags": FIXED}),
        ("mremap", {"old_address": 8 * P, "old_size": 2**63, "new_size": P, "flags": MOVE, "new_address": 0}),
    ]),
    # touch runs off the end of a VMA into a hole: EFAULT at the first unmapped page, as the model says.
    ("touch-over-a-vma-end", [
        ("munmap", {"addr": 0, "length": ARENA * P}),
        ("mmap", {"addr": 0, "length": 2 * P, "prot": RW, "flags": FIXED}),
        ("touch", {"addr": 0, "length": 4 * P}),
    ]),
]


@pytest.fixture(scope="module", params=live_kernels.params())
def results(request) -> dict[str, list]:
    """Every case on each live kernel, in one child, against the kernel's profile: {name: rows}."""
    kernel = live_kernels.require(request.param)
    return kernel.run_cases([(name, case, None, "") for name, case in CASES], ARENA, timeout=120)[1]


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_the_model_agrees(results, name: str) -> None:
    live_kernels.assert_match(results[name], name)


def test_the_wrapping_overlap_is_a_partial_failure_live(results) -> None:
    """The first case fails after changing the arena on the live kernel (the point of keeping it)."""
    rows = results["overlap-wraps-at-2**64"]
    assert rows[-1].live_errno != 0 and rows[-1].live_layout != rows[-2].live_layout


@pytest.mark.parametrize("name", ["old-len-0-fixed-onto-its-own-source", "fixed-shrink-old-len-beyond-task-size"])
def test_the_call_fails_live(results, name: str) -> None:
    assert results[name][-1].live_errno != 0
