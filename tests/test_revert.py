"""The 2019 bug on a real kernel (mmsim.live.revert): the recorded run shipped with mmsim, and the live one.

The recorded run is what a course notebook shows where the kernels cannot run, so it is held to the semantics
tables here (§7.1: the reverted 5.10 has 5.0's column, the control 5.1's), and, where the kernels run, to a
fresh live run (so that it cannot go stale).
"""

from __future__ import annotations

import live_kernels
import pytest
import semantics_tables as T

from mmsim import widgets
from mmsim.live import revert

REVERT, CONTROL = revert.BUG_KERNELS


@pytest.fixture(scope="module")
def recorded() -> revert.BugRun:
    return revert.bug_on_real_kernels(live=False)


@pytest.mark.parametrize(("kernel", "column"), [(REVERT, "5.0"), (CONTROL, "5.1")])
def test_the_recorded_run_is_the_semantics_table(recorded, kernel: str, column: str) -> None:
    """Every free-slot count of the recorded seed-W: a PARTIAL cell of §7.1 is ENOMEM with the arena changed,
    a CLEAN cell ENOMEM with nothing changed, an OK cell success; and the model agreed with the kernel."""
    assert recorded.recorded and recorded.note and recorded.free_slots == tuple(range(9))
    for s, text in T.by_free_slots(T.SEED_W, column).items():
        r = recorded.at(kernel, s)
        kind = T.cell(text).kind
        assert r.match and r.model_kind == kind, (kernel, s, r)
        if kind == "PARTIAL_FAIL":
            assert r.errno_name == "ENOMEM" and r.changed and r.delta > 0, (kernel, s)
        elif kind == "OK":
            assert r.errno == 0 and r.delta == T.cell(text).mc_after - (65530 - s), (kernel, s)
        else:
            assert r.errno_name == "ENOMEM" and not r.changed and r.delta == 0, (kernel, s)


def test_the_maps_lines_show_the_holes(recorded) -> None:
    """At 3 free slots the reverted kernel's arena goes from two VMAs (O, D) to four: O without the old
    range's tail, D without the destination (§7.1: destination and tail punched)."""
    r = recorded.at(REVERT, 3)
    assert len(r.maps("before").splitlines()) == 2 and len(r.maps("after").splitlines()) == 4
    assert recorded.at(CONTROL, 3).maps("after") == recorded.at(CONTROL, 3).maps("before")


def test_the_explorer_shows_each_free_slot_count(recorded) -> None:
    ex = widgets.revert_explorer(result=recorded, free_slots=0)
    for s, text in ((1, "with 1 free slot<"), (5, "with 5 free slots"), (6, "with 6 free slots")):
        ex.controls["free_slots"].value = s
        assert text in ex.info.value and "recorded" in ex.info.value  # the real kernels' readout and maps
        assert ex.plot.value.startswith("<svg") and f"{s} free slot" in ex.plot.value  # the model's trace
    assert "FAILED AFTER CHANGING" in revert.html_view(recorded, 3) and "refused" in revert.html_view(recorded, 0)


@pytest.mark.live
def test_the_recorded_run_is_what_the_kernels_do_now(recorded) -> None:
    for k in revert.BUG_KERNELS:
        live_kernels.require(live_kernels.LiveKernel("qemu", k), tally=False)
    now = revert.bug_on_real_kernels(live=True)
    assert not now.recorded
    for k in revert.BUG_KERNELS:
        for s in now.free_slots:
            a, b = now.at(k, s), recorded.at(k, s)
            assert (a.errno, a.delta, a.changed, a.model_kind, a.match) == (b.errno, b.delta, b.changed,
                                                                             b.model_kind, True), (k, s)
