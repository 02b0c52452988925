"""Notebook 08 survives any host (#25): when every live target fails (a guest that does not boot, a host run
that breaks), each live part says "skipped: <reason>" and Run-All goes on to the end, the host part included.

The notebook's code cells run in order in one namespace (the install cell aside), with ``mmsim.live.compare``
raising :class:`mmsim.live.LiveError` and ``kernel_info`` claiming that both the host and the guest can run,
so that every ``try`` is reached."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from mmsim import live  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08-live-kernel-lab.ipynb"


def _fake_info(target: str = "host", kernel: str | None = None) -> live.KernelInfo:
    guest = kernel is not None
    return live.KernelInfo("Linux", "6.1.176" if guest else "6.18.44", "x86_64", 65530, "6.1" if guest else "6.18",
                           True, "", True, target="qemu" if guest else "host", kernel=kernel)


def _failing_compare(*args: object, **kwargs: object) -> object:
    raise live.LiveError("simulated: the target did not boot")


def test_every_live_part_of_08_skips_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import mmsim.widgets

    monkeypatch.setattr(live, "compare", _failing_compare)
    monkeypatch.setattr(live, "kernel_info", _fake_info)
    monkeypatch.setattr(mmsim.widgets, "live_explorer", lambda *a, **k: None)  # a widget needs a browser
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    namespace: dict[str, object] = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, cell in enumerate(cells):
            source = "".join(cell["source"])
            if "%pip install" in source:
                continue
            try:
                exec(compile(source, f"08 code cell {i}", "exec"), namespace)
            except Exception as e:  # pragma: no cover - the failure is the test's message
                pytest.fail(f"code cell {i} raised {type(e).__name__}: {e}\n{source[:300]}")
    text = out.getvalue()
    for part in ("skipped: the live run failed: simulated",
                 "skipped: the Linux 6.1 guest did not run: simulated",
                 "skipped: this machine's kernel did not run it: simulated"):
        assert part in text, (part, text[-2000:])
