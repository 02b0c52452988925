"""The mremap explorer of notebook 03: a widget over mremap's flags and sizes on a fixed layout.

Importable as ``mmsim.exercises.mremap_explorer`` (its path since the course began); notebook 03's checks use
:func:`explorer_scenario` to compute their expected values from the same layout the widget shows.
"""

from __future__ import annotations

from typing import Any

from ..constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from ..deprecation import renamed_arguments
from ..profiles import KERNELS
from ..scenarios import Scenario, scenario_from_ops

__all__ = ["EXPLORER_VMAS", "explorer_scenario", "mremap_explorer"]

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS

#: The explorer's layout, in pages from its base: a faulted rw private VMA "O", free pages, a read-only
#: VMA "D", and a shared VMA "S" (the only kind whose old_size may be 0).
EXPLORER_VMAS = {"O": (0, 8), "D": (12, 10), "S": (24, 4)}
EXPLORER_PAGES = 44


def explorer_scenario(source: str, offset: int, old_size: int, new_size: int, maymove: bool, fixed: bool,
                      dontunmap: bool, dest: int) -> Scenario:
    """The explorer's layout plus one mremap: ``offset``, sizes and ``dest`` in pages (``dest`` is used with
    FIXED or DONTUNMAP)."""
    o, d, s = (EXPLORER_VMAS[k] for k in ("O", "D", "S"))
    setup = [
        ("mmap", {"addr": o[0] * P, "length": o[1] * P, "prot": RW, "flags": ANON | MAP_FIXED}),
        ("touch", {"addr": o[0] * P, "length": o[1] * P}),
        ("mmap", {"addr": d[0] * P, "length": d[1] * P, "prot": PROT_READ, "flags": ANON | MAP_FIXED}),
        ("mmap", {"addr": s[0] * P, "length": s[1] * P, "prot": RW,
                  "flags": MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED}),
    ]
    flags = (MREMAP_MAYMOVE if maymove else 0) | (MREMAP_FIXED if fixed else 0) | (
        MREMAP_DONTUNMAP if dontunmap else 0)
    kw = {"old_address": (EXPLORER_VMAS[source][0] + offset) * P, "old_size": old_size * P,
          "new_size": new_size * P, "flags": flags,
          "new_address": dest * P if fixed or dontunmap else None}
    return scenario_from_ops("mremap-explorer", "an mremap of your choice", "random", setup, "mremap", kw)


@renamed_arguments(slack="free_slots")
def mremap_explorer(kernel: str = "6.18", *, free_slots: int = 16) -> Any:
    """An explorer (:class:`mmsim.widgets.Explorer`) over mremap's flags and sizes on a fixed layout.

    The layout holds a faulted 8-page rw private VMA ``O`` at page 0, free pages 8-11, a 10-page read-only
    VMA ``D`` at page 12 and a 4-page shared VMA ``S`` at page 24. Controls: ``kernel``, ``source`` (O or S),
    ``offset`` (pages into the source), ``old_size`` and ``new_size`` (pages), the ``MAYMOVE``/``FIXED``/
    ``DONTUNMAP`` checkboxes and ``dest`` (the page of ``new_address``, used with FIXED or DONTUNMAP, and
    disabled without them). The
    figure shows the layout before and after the call; the text above it the call, its outcome, the change
    of map_count and the steps it took. ``free_slots`` free slots are left before the call.

    ``explorer.last_run["outcome"]`` is the :class:`mmsim.Outcome` of the latest redraw (and
    ``last_run["sc"]`` its scenario), so code can read what the figure shows.
    """
    import html

    import ipywidgets as W

    from ..experiments import Runner
    from ..plots import plot_layout
    from ..widgets import Explorer

    style = {"description_width": "initial"}

    def slider(desc: str, value: int, lo: int, hi: int) -> W.IntSlider:
        return W.IntSlider(value=value, min=lo, max=hi, description=desc, continuous_update=False, style=style)

    controls = {
        "kernel": W.ToggleButtons(options=list(KERNELS), value=kernel, description="kernel", style=style),
        "source": W.Dropdown(options=[("O: rw private, faulted", "O"), ("S: rw shared", "S")], value="O",
                             description="source VMA", style=style),
        "offset": slider("offset (pages)", 2, 0, 7),
        "old_size": slider("old size (pages)", 2, 0, 8),
        "new_size": slider("new size (pages)", 4, 1, 12),
        "maymove": W.Checkbox(value=True, description="MREMAP_MAYMOVE", indent=False),
        "fixed": W.Checkbox(value=False, description="MREMAP_FIXED", indent=False),
        "dontunmap": W.Checkbox(value=False, description="MREMAP_DONTUNMAP", indent=False),
        "dest": slider("new address (page)", 30, 0, 31),
    }
    runner = Runner()
    last: dict[str, Any] = {}

    def render(kernel: str, source: str, offset: int, old_size: int, new_size: int, maymove: bool, fixed: bool,
               dontunmap: bool, dest: int):
        sc = explorer_scenario(source, offset, old_size, new_size, maymove, fixed, dontunmap, dest)
        outcome, before, after = runner.before_after(sc, kernel, free_slots)
        last.update(sc=sc, outcome=outcome)
        old, new = sc.ranges()
        return plot_layout(before, after, old_range=old, new_range=new,
                           window=(sc.base, sc.base + EXPLORER_PAGES * P), outcome=outcome,
                           title=f"kernel {kernel}: {sc.call(compact=True)}")

    def describe(**_: Any) -> str:
        sc, o = last.get("sc"), last.get("outcome")
        if sc is None or o is None:
            return ""
        what = o.kind + (f" ({o.errname} at {o.check})" if o.errno else "")
        steps = " → ".join(o.trace.steps())
        return (f"<code>{html.escape(sc.call())}</code><br><b>{html.escape(what)}</b>, "
                f"map_count {o.mc_after - o.mc_before:+d}<br>steps: {html.escape(steps)}")

    ex = Explorer(controls, render, describe=describe,
                  rows=[["kernel"], ["source", "offset", "old_size", "new_size"],
                        ["maymove", "fixed", "dontunmap", "dest"]], runner=runner)
    ex.last_run = last  # {"sc": the Scenario, "outcome": its Outcome} of the latest redraw

    def dest_in_use(_change: Any = None) -> None:  # new_address is read only with FIXED or DONTUNMAP
        controls["dest"].disabled = not (controls["fixed"].value or controls["dontunmap"].value)

    controls["fixed"].observe(dest_in_use, names="value")
    controls["dontunmap"].observe(dest_in_use, names="value")
    dest_in_use()
    return ex


