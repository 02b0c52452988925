"""Shared pytest configuration: the per-kernel tally of live operations, printed at the end of a run.

Under ``CI=true`` a run whose live tests used a kernel and compared no operation on it fails: a live
tier that compared nothing proves nothing (tests/live_kernels.py).
"""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.dirname(__file__))

import live_kernels  # noqa: E402


@pytest.fixture(scope="session")
def host() -> live_kernels.Ready:
    """This machine's kernel and the profile that models it exactly (``mmsim.release_coverage()``); skips
    with the reason when live runs cannot run here (fails under ``CI=true``). Not tallied: a test that
    compares operations goes through :meth:`live_kernels.Ready.compare`, which records them."""
    return live_kernels.require(live_kernels.HOST, tally=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    tallies = live_kernels.TALLY
    if not tallies and not live_kernels.SKIPPED:
        return
    terminalreporter.write_sep("-", "differential: each live kernel against the profile that models it")
    for t in tallies.values():
        terminalreporter.write_line(f"live operations compared on {t.label}: {t.compared}, matched: {t.matched}")
    for key, why in live_kernels.SKIPPED.items():
        if key not in tallies:
            terminalreporter.write_line(f"not run on {key}: {why}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if not live_kernels.CI:
        return
    empty = [t.label for t in live_kernels.TALLY.values() if t.compared == 0]
    unmatched = [t.label for t in live_kernels.TALLY.values() if t.matched != t.compared]
    if empty or unmatched:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            for label in empty:
                reporter.write_line(f"CI: no live operation was compared on {label}", red=True)
            for label in unmatched:
                reporter.write_line(f"CI: live operations on {label} did not all match", red=True)
        session.exitstatus = 1
