"""Tests of mmsim.widgets: the max_map_count knob, its thresholds, the explorers' hooks, and no Output widget.

Expected outcomes are derived from the check registry (:data:`mmsim.checks.CHECKS`, the free slots each check
needs) and from the scenarios' documented steps in docs/semantics.md (§7), never from the code under test:
a check that sees ``map_count = c`` fails while ``max_map_count - c < slots``, so a call flips at
``max_map_count = c + slots``. The explorers redraw synchronously when a control changes (traitlets
observers), so no browser or kernel is needed; the last test runs the explorers under nbclient.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets as W  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mmsim import DEFAULT_MAX_MAP_COUNT, KERNELS  # noqa: E402
from mmsim import widgets as Wd  # noqa: E402
from mmsim.checks import CHECKS  # noqa: E402
from mmsim.experiments import Runner  # noqa: E402
from mmsim.scenarios import get  # noqa: E402

MC = 500  # a small process (quick to pad); outcomes depend on the free slots only (mmsim.experiments)
SLOTS = {name: c.slots for name, c in CHECKS.items()}


def _panels(fig: Figure):
    return [ax for ax in fig.axes if ax.get_title()]


def _failures(fig: Figure) -> int:
    return sum(1 for ax in fig.axes for ln in ax.lines if ln.get_gid() == "failure")


def _widgets(w: W.Widget):
    yield w
    for child in getattr(w, "children", ()):
        yield from _widgets(child)


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner()


# ---- the knob -------------------------------------------------------------------------------------------


def test_the_slider_is_the_sysctl_in_absolute_units() -> None:
    ex = Wd.trace_explorer()
    s = ex.controls["max_map_count"]
    assert isinstance(s, W.IntSlider) and s.description == "max_map_count" and s.continuous_update is False
    assert s.value == DEFAULT_MAX_MAP_COUNT == 65_530
    assert s.min <= Wd.PROCESS_MAP_COUNT < DEFAULT_MAX_MAP_COUNT <= s.max  # the default sits inside the range
    assert "free_slots" not in ex.controls
    assert tuple(ex.controls["kernels"].options) == KERNELS
    assert ex.controls["kernels"].value == Wd.DEFAULT_KERNELS == ("5.0", "5.1", "6.18", "7.1", "ideal")
    facts = ex.last_view.facts
    assert facts["map_count"] == Wd.PROCESS_MAP_COUNT and facts["max_map_count"] == 65_530
    assert all(o.mc_before == Wd.PROCESS_MAP_COUNT for o in facts["outcomes"].values())
    assert 'data-max-map-count="65530"' in ex.last_svg and "65,530" in ex.info.value


def test_moving_the_limit_moves_only_the_limit(runner: Runner) -> None:
    """The process keeps its VMAs; the limit line and the free slots follow the slider."""
    for mx in (MC - 1, MC + 3, MC + 9):
        fig = Wd.render_trace("seed-W", ["5.0"], mx, map_count=MC, runner=runner)
        ax = _panels(fig)[0]
        limit = next(ln for ln in ax.lines if ln.get_label() == "max_map_count")
        step = next(ln for ln in ax.lines if ln.get_label() == "map_count after each step")
        assert limit.get_ydata()[0] == mx and step.get_ydata()[0] == MC
        assert f"{mx - MC} free slots" in " ".join(fig.get_suptitle().split())
        svg = Wd.trace_view("seed-W", ["5.0"], mx, map_count=MC, runner=runner).svg
        assert f'class="limit" data-value="{mx}"' in svg


def test_free_slots_keeps_its_old_meaning() -> None:
    """``free_slots=`` (free slots, the old knob) starts the slider that far above the process's map_count."""
    ex = Wd.trace_explorer("seed-W", kernels=("5.0",), free_slots=3, map_count=MC)
    assert ex.controls["max_map_count"].value == MC + 3
    fig = Wd.render_layout("seed-S", "6.18", free_slots=8, map_count=MC)
    assert "8 free slots" in " ".join(fig.get_suptitle().split())
    with pytest.raises(ValueError, match="contradicts"):
        Wd.trace_view("seed-W", ["5.0"], MC + 3, map_count=MC, free_slots=4)


# ---- thresholds: one step of the slider flips the outcome -------------------------------------------------


@pytest.mark.parametrize("kernel, check, seen", [
    # 5.1 and 6.18 run the early check first, at the process's count (semantics §3.5.1, §3.5.2): it flips at MC + 6
    ("5.1", "mremap_early", 0),
    ("6.18", "mremap_early", 0),
    # 7.1's do_mremap() check, also first (§3.5.2)
    ("7.1", "mremap_early_v7", 0),
    # 5.0: destination punch +1, tail punch +1, then move_vma's check (§7.1): it sees MC + 2
    ("5.0", "move_vma_limit", 2),
])
def test_seed_w_flips_at_its_check_threshold(runner: Runner, kernel: str, check: str, seen: int) -> None:
    flip = MC + seen + SLOTS[check]  # the first limit at which the check passes
    below = Wd.trace_view("seed-W", [kernel], flip - 1, map_count=MC, runner=runner)
    at = Wd.trace_view("seed-W", [kernel], flip, map_count=MC, runner=runner)
    o_below, o_at = below.facts["outcomes"][kernel], at.facts["outcomes"][kernel]
    assert o_below.check == check and not o_below.ok
    assert o_below.kind == ("PARTIAL_FAIL" if seen else "CLEAN_FAIL")  # 5.0 fails after its unmaps (§7.1)
    assert o_at.ok
    assert 'class="failure"' in below.svg and 'class="failure"' not in at.svg
    assert f"needs {SLOTS[check]} free slots" in below.readout
    assert f"passes from max_map_count {flip:,}" in below.readout
    f_below = Wd.render_trace("seed-W", [kernel], flip - 1, map_count=MC, runner=runner)
    f_at = Wd.render_trace("seed-W", [kernel], flip, map_count=MC, runner=runner)
    assert _failures(f_below) == 1 and _failures(f_at) == 0
    assert o_below.kind in _panels(f_below)[0].get_title() and "OK" in _panels(f_at)[0].get_title()


def test_mprotect_3way_needs_a_slot_at_each_split(runner: Runner) -> None:
    """§7.4: two splits, each checked by split_limit, at MC and MC + 1: OK from MC + 1 + slots."""
    flip = MC + 1 + SLOTS["split_limit"]
    kinds = {mx: Wd.layout_view("mprotect-3way", "6.18", mx, map_count=MC, runner=runner).facts["outcome"].kind
             for mx in (flip - 2, flip - 1, flip)}
    assert kinds == {flip - 2: "CLEAN_FAIL", flip - 1: "PARTIAL_FAIL", flip: "OK"}
    fig = Wd.render_layout("mprotect-3way", "6.18", flip - 1, map_count=MC, runner=runner)
    assert "PARTIAL_FAIL" in fig.axes[1].get_title(loc="left")
    assert len(fig.axes[1].containers[0].patches) == 2  # the first split happened (§7.4)


def test_layout_follows_the_limit(runner: Runner) -> None:
    """§7.1 on 5.0: half-done below MC + 6 (O and D each punched: 4 VMAs), done from it (5 VMAs)."""
    flip = MC + 2 + SLOTS["move_vma_limit"]
    partial = Wd.layout_view("seed-W", "5.0", flip - 1, map_count=MC, runner=runner)
    done = Wd.layout_view("seed-W", "5.0", flip, map_count=MC, runner=runner)
    assert partial.facts["outcome"].kind == "PARTIAL_FAIL" and done.facts["outcome"].ok
    after = partial.svg.split('data-state="after"')[1].split("</g>")[0]
    assert after.count('class="vma"') == 4
    assert done.svg.split('data-state="after"')[1].split("</g>")[0].count('class="vma"') == 5
    fig = Wd.render_layout("seed-W", "5.0", flip - 1, map_count=MC, runner=runner)
    assert f"max_map_count {flip - 1:,}" in " ".join(fig.get_suptitle().split())
    assert len(fig.axes[1].containers[0].patches) == 4


# ---- failure points -------------------------------------------------------------------------------------


def test_failure_points_5_0_late_5_1_early(runner: Runner) -> None:
    limits = (MC - 1, MC + 8)
    points, steps, outs = Wd.failure_points("seed-W", ["5.0", "5.1"], limits, MC, runner=runner)
    assert [p.max_map_count for p in points["5.0"]] == list(range(limits[0], limits[1] + 1))
    at = {k: {p.max_map_count: p for p in points[k]} for k in points}
    mx = MC + 3  # 3 free slots: both refuse (§7.1)
    assert at["5.1"][mx].step == "mremap_early" and steps["5.1"].index("mremap_early") == 0
    assert at["5.0"][mx].step == "move_vma_limit" and at["5.0"][mx].outcome == "PARTIAL_FAIL"
    assert steps["5.0"].index("move_vma_limit") > steps["5.0"].index("unmap_tail")  # after both unmaps
    flip = MC + 2 + SLOTS["move_vma_limit"]
    assert at["5.0"][flip - 1].step == "move_vma_limit" and at["5.0"][flip].step == "completed"
    fig = Wd.render_failure_points("seed-W", ["5.0", "5.1"], mx, map_count=MC, limits=limits, runner=runner)
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")] == ["kernel 5.0", "kernel 5.1"]
    assert any(ln.get_gid() == "limit" and ln.get_xdata()[0] == mx for ln in fig.axes[0].lines)


def test_failure_point_explorer_slider() -> None:
    ex = Wd.failure_point_explorer("seed-S", kernels=("5.1", "7.1"), map_count=MC, max_map_count=MC + 4)
    flip = MC + SLOTS["mremap_early"]  # §7.2: 5.1 refuses seed-S up to 5 free slots, FALSE_POSITIVE at 5
    ex.controls["max_map_count"].value = flip - 1
    o = ex.last_view.facts["outcomes"]["5.1"][flip - 1]
    assert o.kind == "FALSE_POSITIVE" and o.check == "mremap_early"
    assert f'data-limit="{flip - 1}" data-outcome="FALSE_POSITIVE"' in ex.last_svg
    ex.controls["max_map_count"].value = flip
    assert ex.last_view.facts["outcomes"]["5.1"][flip].ok
    assert f"max_map_count <b>{flip:,}</b>" in ex.info.value
    assert f"completes from max_map_count {flip:,}" in ex.info.value
    assert isinstance(ex.last_figure, Figure)


# ---- outcome map ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def frame():
    return Wd.sweep_limits(["seed-W", "seed-S", "k-whole-1", "mprotect-3way"], ["5.0", "5.1", "7.1"],
                           (MC - 1, MC + 8), MC)


def test_sweep_limits_is_one_process_under_many_limits(frame, runner: Runner) -> None:
    assert set(frame["mc_before"]) == {MC}
    assert sorted(frame["max_map_count"].unique()) == list(range(MC - 1, MC + 9))
    assert (frame["free_slots"] == frame["max_map_count"] - MC).all()
    for row in frame.sample(12, random_state=1).itertuples():
        o = runner.at_limit(row.scenario, row.kernel, row.max_map_count, MC, trace=False)
        assert (o.kind, o.mc_after, o.fp) == (row.outcome, row.mc_after, row.fp)


def test_outcome_map_marks_the_limit_and_the_false_positives(frame) -> None:
    fp_limit = MC + SLOTS["mremap_early"] - 1  # §7.2: 5.1 refuses seed-S needlessly at 5 free slots
    view = Wd.outcome_map_view(frame, fp_limit)
    here = view.facts["rows"].set_index(["scenario", "kernel"])
    assert here.loc[("seed-S", "5.1"), "outcome"] == "FALSE_POSITIVE"
    assert view.facts["fp_rate"]["5.1"] > 0
    after = Wd.outcome_map_view(frame, fp_limit + 1).facts["rows"].set_index(["scenario", "kernel"])
    assert after.loc[("seed-S", "5.1"), "outcome"] == "OK"
    assert 'data-outcome="FALSE_POSITIVE"' in view.svg and 'class="limit"' in view.svg
    fig = Wd.render_outcome_map(frame, fp_limit)
    ims = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(ims) == 3 and ims[0].get_array().shape == (4, 10)
    assert any(p.get_gid() == "limit" for ax in fig.axes for p in ax.patches)
    assert "max_map_count" in fig.axes[-1].get_xlabel()


def test_outcome_map_explorer(frame) -> None:
    ex = Wd.outcome_map_explorer(frame)
    c = ex.controls
    assert c["max_map_count"].description == "max_map_count" and c["max_map_count"].continuous_update is False
    assert (c["max_map_count"].min, c["max_map_count"].max) == (MC - 1, MC + 8)
    assert list(c["family"].options) == ["all", "seed", "fixed", "mprotect"]
    assert c["kernels"].value == ("5.0", "5.1", "7.1")
    c["family"].value = "seed"
    assert set(ex.last_view.facts["rows"]["scenario"]) == {"seed-W", "seed-S"}
    c["max_map_count"].value = MC + 5
    assert f"max_map_count <b>{MC + 5:,}</b>" in ex.info.value
    c["kernels"].value = ()
    assert "Select at least one kernel" in ex.last_svg
    with pytest.raises(KeyError):
        Wd.outcome_map_explorer(frame, family="nope")


def test_outcome_map_explorer_default_sweep() -> None:
    ex = Wd.outcome_map_explorer()
    lo, hi = Wd.default_limits()
    assert len(ex.data) == ex.data["scenario"].nunique() * len(KERNELS) * (hi - lo + 1)
    assert ex.controls["max_map_count"].value == DEFAULT_MAX_MAP_COUNT
    assert set(ex.last_view.facts["fp_rate"]) == set(Wd.DEFAULT_KERNELS)


# ---- the container --------------------------------------------------------------------------------------


def test_explorers_use_no_output_widget() -> None:
    """nbclient emulates Output widgets by sending on the shell channel mid-cell, which can stall a cell until its
    timeout (the module docstring): no explorer may contain one."""
    explorers = [Wd.trace_explorer(map_count=MC, max_map_count=MC + 3),
                 Wd.layout_explorer(map_count=MC, max_map_count=MC + 3),
                 Wd.failure_point_explorer(map_count=MC, max_map_count=MC + 3, kernels=("5.0",))]
    for ex in explorers:
        assert not any(isinstance(w, W.Output) for w in _widgets(ex))
        assert ex.output is ex.plot and isinstance(ex.plot, W.HTML) and ex.plot in ex.children


def test_display_bundle_has_a_static_png() -> None:
    """Both kinds of explorer (SVG-drawing and Figure-drawing) put PNG *bytes* in the bundle: a memoryview (what
    ``ipywidgets.Image.value`` may hold) is not JSON-serialisable and fails the website's notebook run."""
    from mmsim.exercises import mremap_explorer

    for ex in (Wd.layout_explorer(map_count=MC, max_map_count=MC + 3), mremap_explorer("6.18", free_slots=4)):
        bundle = ex._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert type(bundle["image/png"]) is bytes and bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_explorer_hooks_and_errors() -> None:
    ex = Wd.trace_explorer("seed-S", kernels=("5.1",), map_count=MC, max_map_count=MC + 5)
    assert isinstance(ex, W.VBox) and set(ex.controls) == {"scenario", "max_map_count", "kernels"}
    first = ex.last_figure
    assert isinstance(first, Figure) and ex.last_figure is first  # built once per update
    assert ex.update() is ex.last_figure is not first
    assert "FALSE_POSITIVE" in _panels(ex.last_figure)[0].get_title()  # §7.2: 5.1 at 5 free slots
    ex.controls["kernels"].value = ()
    assert "Select at least one kernel" in ex.last_svg
    assert "Select at least one kernel" in ex.last_figure.texts[0].get_text()

    def render(n: int) -> Wd.View:
        if n > 2:
            raise ValueError(f"cannot have {n}")
        return Wd.View.message(f"n = {n}")

    ex2 = Wd.Explorer({"n": W.IntSlider(value=1, min=0, max=5)}, render)
    ex2.controls["n"].value = 4
    assert ex2.last_error == "cannot have 4" and "cannot have 4" in ex2.last_svg
    with pytest.raises(KeyError):
        Wd.trace_explorer("nope")


def test_explorer_still_shows_a_figure_render_as_png() -> None:
    """A render function that returns a matplotlib Figure (mmsim.exercises.mremap_explorer) is shown as a PNG."""
    ex = Wd.Explorer({"n": W.IntSlider(value=1, min=0, max=5)}, lambda n: Wd.message_figure(f"n = {n}"),
                     describe=lambda n: f"n is {n}")
    assert ex.image.value[:8] == b"\x89PNG\r\n\x1a\n" and ex.image.layout.display is None
    ex.controls["n"].value = 3
    assert ex.last_figure.texts[0].get_text() == "n = 3" and ex.info.value == "n is 3" and ex.last_svg is None


def test_explorers_share_no_state() -> None:
    a = Wd.trace_explorer("seed-W", kernels=("5.0",), map_count=MC, max_map_count=MC + 3)
    b = Wd.trace_explorer("seed-W", kernels=("5.0",), map_count=MC, max_map_count=MC + 3)
    svg_b = b.last_svg
    a.controls["max_map_count"].value = MC + 7
    assert b.last_svg == svg_b and a.runner is not b.runner


# ---- live -----------------------------------------------------------------------------------------------


class _Info:
    can_run, profile, reason, target, kernel = True, "6.18", "", "host", None


def test_live_explorer_runs_the_kernel_only_on_the_button() -> None:
    calls = []

    class Row:
        live_errno = model_errno = None
        live_delta = model_delta = 3

    class Cmp:
        rows = [Row()]
        all_match = True
        mismatched = ()
        verdict = "all 3 operations match"

        def to_dataframe(self):
            import pandas as pd

            return pd.DataFrame([{"op": "mremap", "live_errno": "OK", "model_errno": "OK", "live_delta": 3,
                                  "model_delta": 3, "match": True}])

    def compare(ops, kernel, **kw):
        calls.append((kernel, kw["free_slots_before"]))
        return Cmp()

    ex = Wd.live_explorer("seed-W", map_count=MC, max_map_count=MC + 3, compare=compare, info=_Info())
    ex.controls["max_map_count"].value = MC + 6
    ex.controls["max_map_count"].value = MC + 7
    assert calls == [] and ex.last_view.facts["outcomes"]["6.18"].ok
    ex.live_button.click()
    n_ops = len(get("seed-W").live_ops())
    assert calls == [("6.18", {n_ops - 1: 7})]
    assert f'data-max-map-count="{MC + 7}"' in ex.live_result.value and ex.last_live is not None

    class NoLive:
        can_run, profile, reason, target, kernel, release = False, None, "not Linux", "host", None, "23.1.0"

    # No profile models the target's kernel: the caller names one (there is no default profile).
    with pytest.raises(ValueError, match="no mmsim profile models Linux 23.1.0"):
        Wd.live_explorer("seed-W", map_count=MC, max_map_count=MC + 3, compare=compare, info=NoLive())
    off = Wd.live_explorer("seed-W", "6.18", map_count=MC, max_map_count=MC + 3, compare=compare, info=NoLive())
    assert off.live_button.disabled and "not Linux" in off.live_result.value


# ---- nbclient: the hang this module avoids ---------------------------------------------------------------


def test_explorers_under_nbclient_send_nothing_on_the_shell_channel(monkeypatch, tmp_path) -> None:
    """Run every explorer in a notebook with nbclient (as nbval and the website do) and count the comm messages
    nbclient sends to the kernel mid-cell for Output widgets: each such send can swallow the wake-up of the cell's
    reply (the cell then waits for its timeout). There must be none, and every display carries a static PNG."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    import nbclient.output_widget as ow

    sent = []
    monkeypatch.setattr(ow.OutputWidget, "send", lambda self, *a, **k: sent.append(a))
    code = [
        "from mmsim import widgets as Wd\nMC = 500",
        "Wd.trace_explorer(map_count=MC, max_map_count=MC + 3)",
        "Wd.failure_point_explorer(map_count=MC, max_map_count=MC + 3)",
        "Wd.layout_explorer(map_count=MC, max_map_count=MC + 3)",
        "Wd.outcome_map_explorer(Wd.sweep_limits(['seed-W', 'seed-S'], map_count=MC))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in code])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    assert sent == []
    for cell in nb.cells[1:]:
        (out,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert "application/vnd.jupyter.widget-view+json" in out.data and "image/png" in out.data
    models = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    assert not any(m["model_name"] == "OutputModel" for m in models)


def test_the_readout_shows_the_check_arithmetic_at_the_limit(runner: Runner) -> None:
    """Notebook 05's point: 5.1's early check ``mc + 2 >= max - 3`` against the slider, filled in."""
    mx = MC + SLOTS["mremap_early"] - 1
    view = Wd.trace_view("seed-S", ["5.1"], mx, map_count=MC, runner=runner)
    (line,) = Wd.checks_evaluated(view.facts["outcomes"]["5.1"])
    assert line == f"mremap_early: {MC} + 2 >= {mx} - 3 → fails (needs {SLOTS['mremap_early']}, had {mx - MC})"
    assert line.replace(">", "&gt;") in view.readout
    ok = Wd.trace_view("seed-S", ["5.1"], mx + 1, map_count=MC, runner=runner).facts["outcomes"]["5.1"]
    assert Wd.checks_evaluated(ok)[0].startswith(f"mremap_early: {MC} + 2 >= {mx + 1} - 3 → passes")


def test_a_tiny_positional_limit_is_the_old_free_slots() -> None:
    """``render_layout(scenario, kernel, free_slots)`` (notebook 07 before the knob changed) keeps working, warned."""
    with pytest.warns(FutureWarning, match="free slots"):
        fig = Wd.render_layout("seed-W", "5.0", 3)
    assert f"max_map_count {Wd.PROCESS_MAP_COUNT + 3:,}, 3 free slots" in " ".join(fig.get_suptitle().split())
