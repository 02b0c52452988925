"""Shared pytest configuration: the live-operation tally printed at the end of a run."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.dirname(__file__))

import live_tally  # noqa: E402


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    compared, matched = live_tally.TALLY
    if compared:
        terminalreporter.write_sep("-", "differential: live kernel vs model profile 6.18")
        terminalreporter.write_line(f"live operations compared: {compared}, matched: {matched}")
    compared, matched = live_tally.TALLY_61
    if compared:
        terminalreporter.write_sep("-", "differential: user-mode Linux 6.1 vs model profile 6.1")
        terminalreporter.write_line(f"live operations compared on 6.1: {compared}, matched: {matched}")
