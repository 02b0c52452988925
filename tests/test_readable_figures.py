"""Issue #22 in the kernel: explorer layout, fixed chart sizes, labels, one kernel control, static output, text
alternatives. (The browser tier measures the drawn text boxes: tests/browser/test_figures.py.)"""

from __future__ import annotations

import re
import zlib

import ipywidgets as W
import pytest

from mmsim import widgets as Wd
from mmsim.exercises import mremap_explorer
from mmsim.experiments import Runner

MC = Wd.PROCESS_MAP_COUNT


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner()


def _size(svg: str) -> tuple[str, str]:
    m = re.match(r'<svg [^>]*width="(\d+)" height="(\d+)"', svg)
    assert m, svg[:120]
    return m.group(1), m.group(2)


def _widgets(w: W.Widget):
    yield w
    for child in getattr(w, "children", ()):
        yield from _widgets(child)


@pytest.mark.parametrize("scenario, kernels", [("relocate-interior", ("5.0", "6.18", "7.1")),
                                               ("seed-W", ("5.0", "5.1")), ("mmap-new", ("6.18",))])
def test_a_trace_chart_keeps_its_size_over_the_slider_range(scenario, kernels, runner) -> None:
    lo, hi = Wd.default_limits(MC)
    views = {m: Wd.trace_view(scenario, kernels, m, map_count=MC, runner=runner) for m in range(lo, hi + 1)}
    sizes = {m: _size(v.svg) for m, v in views.items()}
    assert len(set(sizes.values())) == 1, sizes
    kinds = {(k, o.kind) for v in views.values() for k, o in v.facts["outcomes"].items()}
    assert len(kinds) > len(kernels), "the range crosses at least one flip of an outcome"


def test_steps_not_reached_are_named_in_grey(runner) -> None:
    below = Wd.trace_view("seed-W", ["5.1"], MC + 3, map_count=MC, runner=runner)  # refused at mremap_early
    above = Wd.trace_view("seed-W", ["5.1"], MC + 9, map_count=MC, runner=runner)  # completes
    grey = re.findall(r'class="unreached"[^>]*>([^<]+)<', below.svg)
    assert "move_page_tables" in grey and "mremap_early" not in grey
    assert 'class="unreached"' not in above.svg
    assert below.facts["steps"]["5.1"] == above.facts["steps"]["5.1"]


def test_one_free_slot_is_singular(runner) -> None:
    v = Wd.trace_view("seed-W", ["5.0"], MC + 1, map_count=MC, runner=runner)
    assert "1 free slot" in v.svg and "1 free slots" not in v.svg + v.readout
    assert "1 free slots" not in " ".join(v.figure().get_suptitle().split())
    v3 = Wd.trace_view("seed-W", ["5.0"], MC + 3, map_count=MC, runner=runner)
    assert "3 free slots" in v3.svg


def test_the_readout_has_one_line_per_kernel_and_collapsed_details(runner) -> None:
    v = Wd.trace_view("seed-W", ["5.0", "5.1", "7.1"], MC + 3, map_count=MC, runner=runner)
    lines = re.findall(r"<li><b>([^<]+)</b>: <span", v.readout)
    assert lines == ["5.0", "5.1", "7.1"]
    assert "<details" in v.readout and "open" not in v.readout.split("<details", 1)[1].split(">", 1)[0]
    assert "checks evaluated" in v.readout.split("<details", 1)[1]


def test_the_chart_sits_right_under_the_controls() -> None:
    ex = Wd.failure_point_explorer("seed-W", kernels=("5.0", "5.1"))
    kids = list(ex.children)
    assert kids.index(ex.plot) < kids.index(ex.info)
    last_control_row = max(i for i, k in enumerate(kids) if isinstance(k, W.HBox))
    assert kids.index(ex.plot) == last_control_row + 1


def test_every_kernel_choice_is_toggle_buttons() -> None:
    explorers = [Wd.trace_explorer("seed-W"), Wd.failure_point_explorer("seed-W"), Wd.layout_explorer("seed-W"),
                 Wd.outcome_map_explorer(Wd.sweep_limits(["seed-W", "seed-S"], ["5.0", "5.1"])), mremap_explorer()]
    for ex in explorers:
        kinds = {type(w).__name__ for w in _widgets(ex)}
        assert "SelectMultiple" not in kinds and "Select" not in kinds, kinds
        control = ex.controls.get("kernels", ex.controls.get("kernel"))
        assert isinstance(control, Wd.KernelPicker | W.ToggleButtons)
    picker = explorers[0].controls["kernels"]
    picker.buttons[list(picker.options).index("5.0")].value = False  # a reader unpresses 5.0
    assert "5.0" not in picker.value and "5.0" not in explorers[0].last_view.facts["outcomes"]


def test_sliders_print_thousands_separators() -> None:
    for ex in (Wd.trace_explorer("seed-W"), Wd.failure_point_explorer("seed-W"), Wd.layout_explorer("seed-W")):
        slider = ex.controls["max_map_count"]
        assert slider.readout_format == ",d" and f"{slider.value:,}" in ex.info.value


def test_the_mprotect_legend_names_only_the_ranges_it_draws(runner) -> None:
    v = Wd.layout_view("mprotect-3way", "6.18", 65_530, map_count=MC, runner=runner)
    assert "new range" not in v.svg and "old range" in v.svg
    m = Wd.layout_view("seed-W", "5.0", 65_530, map_count=MC, runner=runner)
    assert "new range" in m.svg and "old range" in m.svg


def test_the_mremap_explorer_enables_new_address_only_with_fixed_or_dontunmap() -> None:
    ex = mremap_explorer()
    dest, fixed, dontunmap = (ex.controls[k] for k in ("dest", "fixed", "dontunmap"))
    assert not fixed.value and not dontunmap.value and dest.disabled
    fixed.value = True
    assert not dest.disabled
    fixed.value, dontunmap.value = False, True
    assert not dest.disabled
    dontunmap.value = False
    assert dest.disabled


def test_the_static_rendering_keeps_the_readout_and_names_the_chart() -> None:
    ex = Wd.trace_explorer("seed-W", kernels=("5.0", "5.1"))
    bundle = ex._repr_mimebundle_()
    static = bundle["text/html"]
    assert "<svg" in static and "mmsim-limit" in static and "PARTIAL_FAIL" in static
    label = re.search(r'aria-label="([^"]+)"', static).group(1)
    assert "seed-W" in label and "image/png" in bundle
    m = ex.last_view.alt
    assert len(m) <= 125 and "5.0: PARTIAL_FAIL" in m


def test_figure_pngs_carry_their_text_alternative() -> None:
    from mmsim.plots import figure_png

    fig = Wd.render_trace("seed-W", ["5.0", "5.1"], MC + 3, map_count=MC)
    png = figure_png(fig)
    texts = {}
    pos = 8
    while pos < len(png):  # PNG chunks: length, type, data, crc
        n = int.from_bytes(png[pos:pos + 4], "big")
        kind = png[pos + 4:pos + 8]
        data = png[pos + 8:pos + 8 + n]
        if kind == b"tEXt":
            key, _, value = data.partition(b"\0")
            texts[key.decode()] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = data.partition(b"\0")
            texts[key.decode()] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = data.partition(b"\0")
            texts[key.decode()] = rest[2:].split(b"\0", 2)[2].decode("utf-8")
        pos += 12 + n
    alt = texts.get("Description", "")
    assert 20 <= len(alt) <= 125 and "seed-W" in alt and "PARTIAL_FAIL" in alt, texts


def _texts_outside(fig) -> list[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    w, h = fig.bbox.width, fig.bbox.height
    out = []
    skip = set()  # what matplotlib does not draw: tick labels of ticks outside the view, texts clipped on purpose
    for ax in fig.findobj(lambda a: hasattr(a, "get_major_ticks") and hasattr(a, "get_view_interval")):
        lo, hi = sorted(ax.get_view_interval())
        for tick, loc in zip(ax.get_major_ticks(), ax.get_majorticklocs(), strict=False):
            if not lo - 1e-9 <= loc <= hi + 1e-9:
                skip.update({id(tick.label1), id(tick.label2)})
    for axes in fig.axes:
        skip.update(id(t) for t in axes.texts if t.get_clip_on())
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip() or id(t) in skip:
            continue
        b = t.get_window_extent(renderer)
        if b.x0 < -1 or b.y0 < -1 or b.x1 > w + 1 or b.y1 > h + 1:
            out.append(f"{t.get_text()[:50]!r} at {[round(v) for v in (b.x0, b.y0, b.x1, b.y1)]} in {w:.0f}x{h:.0f}")
    return out


def _plots():
    from mmsim import plots

    return plots


def _sweep():
    from mmsim.experiments import sweep

    return sweep(None, ["5.0", "5.1", "6.18", "7.1", "ideal"], free_slots=range(-1, 9))


def test_long_titles_wrap_instead_of_leaving_the_figure() -> None:
    from mmsim.plots import wrap_title

    title = "relocate-interior on kernel 6.18 — max_map_count 65,530, 3 free slots: mremap(old+2P, 2P, 4P, MAYMOVE)"
    lines = wrap_title(title, 6.0).split("\n")
    assert len(lines) >= 2 and " ".join(lines) == title


@pytest.mark.parametrize("make", [
    lambda: Wd.render_layout("relocate-interior", "6.18", 65_530, map_count=MC),
    lambda: Wd.render_layout("mprotect-3way", "6.18", 65_530, map_count=MC),
    lambda: Wd.render_trace("mmap-new", ["6.18"], 65_529, map_count=MC),
    lambda: Wd.render_trace("seed-W", list(Wd.DEFAULT_KERNELS), 65_530, map_count=MC),
    lambda: Wd.render_failure_points("k-whole-1", ["5.0", "5.1", "7.1", "5.1-alt", "ideal"], 65_530, map_count=MC),
    lambda: Wd.render_outcome_map(Wd.sweep_limits(None, ["5.0", "5.1", "6.18", "7.1"]), 65_530),
    lambda: mremap_explorer().last_figure,
    lambda: _plots().plot_outcome_map(_sweep()),
    lambda: _plots().plot_fp_rate(_sweep()),
    lambda: _plots().plot_tradeoff(_sweep()),
], ids=["layout-relocate", "layout-mprotect", "trace-1", "trace-5", "failure-points", "outcome-map", "mremap",
        "outcome-map-slots", "fp-rate", "tradeoff"])
def test_no_text_leaves_a_matplotlib_figure(make) -> None:
    fig = make()
    assert not _texts_outside(fig)


def test_a_question_not_answered_yet_does_not_look_like_an_error() -> None:
    from mmsim.exercises.feedback import Feedback

    waiting = Feedback(False, "No answer yet: replace None with a number and run the cell again.", "no_answer")
    wrong = Feedback(False, "Not quite: count the VMAs again.", "hint")
    red = re.compile(r"color:#9b1c1c")
    assert red.search(wrong._repr_html_()) and not red.search(waiting._repr_html_())
    assert waiting.line.startswith("✘")  # the text form keeps its mark
