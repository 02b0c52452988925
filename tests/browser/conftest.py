"""Fixtures for the real-browser tier: the course opened and run in JupyterLab by headless chromium.

- ``lab_server`` (session): ``python -m jupyter lab`` on 127.0.0.1 and a free port, with a random token, serving a
  temporary copy of ``notebooks/`` whose outputs are stripped (runs never write into the repository). Its
  config, data, runtime, settings, workspace, IPython and matplotlib dirs and ``HOME`` all live in the same
  temporary directory. News, update checks and virtual scrolling of notebooks are switched off through an
  ``overrides.json`` in a temporary ``--LabApp.app_settings_dir``. It is always stopped (SIGTERM, then SIGKILL of
  its process group) and also gets SIGTERM if pytest itself dies (``PR_SET_PDEATHSIG``).
- ``chromium`` (session): Debian's ``/usr/bin/chromium`` launched headless by Playwright (sync API); Playwright
  downloads no browser and gives the launch a fresh temporary profile.
- ``lab_page`` (function): a fresh browser context wrapped in :class:`LabPage`, which opens a notebook (its
  kernel is started through the REST API while the page loads), runs it with Run → Run All Cells, waits on the
  kernel status and reads prompts, errors and widgets back from the DOM. On failure it saves a screenshot, the
  HTML and the browser console; afterwards it closes the context and shuts the notebook's kernel down, unless
  the test handed its run on with :meth:`LabPage.keep_for_next_test` (``kept_pages``, for the widget tests).

Requirements: Linux (skips elsewhere), Playwright and ``/usr/bin/chromium``. Without chromium or Playwright the
tests skip, except under ``CI=true`` where they fail. Artifacts go to ``./test-artifacts/browser/`` (repository
root) or ``$MMSIM_ARTIFACTS``; the folder is printed at the end of the run.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mmsim.live.kernels import cache_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    # Everything the browser talks to is on 127.0.0.1: never route it through a proxy from the environment.
    "--no-proxy-server",
]
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 20
KERNEL_IDLE_TIMEOUT_S = 120
RUN_ALL_TIMEOUT_S = 240
MAX_KEPT_PAGES = 6  # notebook runs handed from test_notebooks_in_lab to test_widgets_in_lab at one time
VIEWPORT = {"width": 1400, "height": 900}
# The course's map-count sliders: an ipywidgets slider whose description matches this.
MAP_COUNT_SLIDER_LABEL = re.compile(r"max_map_count|free[ _]slots", re.IGNORECASE)
MAX_SCREENSHOT_HEIGHT = 16_000

# Installed as <app_settings_dir>/overrides.json: these become the defaults of JupyterLab's settings.
LAB_OVERRIDES = {
    # No "Would you like to get notified about official Jupyter news?" toast and no update check.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # Every cell stays in the DOM (no virtual scrolling): prompts, outputs and screenshots cover the whole notebook.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}

ARTIFACT_PATTERNS = ("FAILED-*", "notebook-*.png", "widgets-*.png", "jupyter-server.log")
ARTIFACTS_KEY = pytest.StashKey[Path]()
REPORTS_KEY = pytest.StashKey[dict]()

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
INDICATOR = ".jp-Notebook-ExecutionIndicator"  # toolbar item; data-status is the kernel status (idle, busy, ...)

# ---------------------------------------------------------------------------------------------------------------
# pytest hooks


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    item.stash.setdefault(REPORTS_KEY, {})[report.when] = report
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    path = config.stash.get(ARTIFACTS_KEY, None)
    if path is not None:
        terminalreporter.write_sep("-", "browser tests")
        terminalreporter.write_line(f"browser test artifacts (screenshots, failure dumps, server log): {path}")


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def read_notebook(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _strip_outputs(path: Path) -> None:
    """Drop outputs, execution counts and saved widget state, so what the browser shows comes from this run."""
    nb = read_notebook(path)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("widgets", None)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the server's child process before exec: SIGTERM it if pytest dies without cleaning up."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 == PR_SET_PDEATHSIG


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:150]


# Direct connections only: a proxy from the environment must not see (or break) requests to 127.0.0.1.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log_path: Path

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with _HTTP.open(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def lab_url(self, rel_path: str) -> str:
        """The notebook in a new, empty workspace of its own (pages open at the same time never share a layout);
        the token is passed to the browser only here."""
        workspace = f"browser-test-{secrets.token_hex(6)}"
        return f"{self.url}/lab/workspaces/{workspace}/tree/{urllib.parse.quote(rel_path)}?token={self.token}"

    def redact(self, text: str) -> str:
        return text.replace(self.token, "<token>")

    def start_kernel_for(self, rel_path: str, kernel_name: str) -> bool:
        """Start the notebook's session (and kernel) now, so it boots while the browser loads JupyterLab, which
        then attaches to it as it does on any page reload. False if that kernelspec is not installed."""
        if kernel_name not in (self.api("GET", "/api/kernelspecs") or {}).get("kernelspecs", {}):
            return False
        body = {"path": rel_path, "name": rel_path, "type": "notebook", "kernel": {"name": kernel_name}}
        self.api("POST", "/api/sessions", body, timeout=60)
        return True

    def shutdown_sessions(self, rel_path: str) -> None:
        """Shut down the notebook's session and its kernel."""
        for session in self.api("GET", "/api/sessions") or []:
            if session.get("path") == rel_path:
                with contextlib.suppress(urllib.error.HTTPError):
                    self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)

    def is_ready(self) -> bool:
        try:
            self.api("GET", "/api/status", timeout=2)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return True

    def stop(self) -> None:
        proc = self.process
        if proc.poll() is None:
            proc.terminate()  # jupyter_server shuts its kernels down on SIGTERM
            try:
                proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        # Kill whatever is left of the server's process group (it was started in a session of its own).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return self.redact("\n".join(text.splitlines()[-lines:]))


def _server_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Nothing from the caller's Jupyter/matplotlib setup leaks in; the venv's own (sys.prefix) config still applies.
    for var in ("JUPYTER_TOKEN", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR", "MPLBACKEND"):
        env.pop(var, None)
    dirs = {
        "HOME": home,
        "JUPYTER_CONFIG_DIR": home / ".jupyter",
        "JUPYTER_DATA_DIR": home / ".local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": home / ".local/share/jupyter/runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / ".jupyter/lab/user-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / ".jupyter/lab/workspaces",
        "IPYTHONDIR": home / ".ipython",
        "MPLCONFIGDIR": home / ".config/matplotlib",
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local/share",
    }
    for var, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    # The guest kernels `make kernels` fetched and built live in the user's cache, not in this HOME: the
    # notebooks' live parts use them instead of fetching or building kernels inside a timed Run All.
    env["MMSIM_CACHE"] = str(cache_dir())
    env["PYTHONUNBUFFERED"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiets the debugger's "frozen modules" warning in kernels
    return env


def _launch_server(tmp: Path, root: Path, settings_dir: Path, env: dict[str, str]) -> LabServer:
    token = secrets.token_hex(24)
    for attempt in range(3):
        port = _free_port()
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",  # a taken port must fail (we retry), not silently move elsewhere
            f"--IdentityProvider.token={token}",  # ServerApp.token is deprecated in jupyter_server 2
            "--ServerApp.allow_root=True",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            "--ServerApp.shutdown_no_activity_timeout=900",  # last resort if it ever outlives pytest
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.app_settings_dir={settings_dir}",
        ]  # fmt: skip
        log_path = tmp / f"jupyter-server-{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        server = LabServer(f"http://127.0.0.1:{port}", token, root, proc, log_path)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while proc.poll() is None and not server.is_ready():
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"JupyterLab did not answer /api/status within {SERVER_START_TIMEOUT_S}s:\n{server.log_tail()}",
                        pytrace=False,
                    )
                time.sleep(0.2)
        except BaseException:
            server.stop()
            raise
        if proc.poll() is None:
            return server
        server.stop()
        if "already in use" not in log_path.read_text(errors="replace"):
            break
    pytest.fail(f"JupyterLab exited with code {proc.returncode}:\n{server.log_tail()}", pytrace=False)


# ---------------------------------------------------------------------------------------------------------------
# The page object

# Installed before JupyterLab's own scripts: logs every kernel status the notebook toolbar's indicator shows.
# The indicator says "idle" for a moment before the notebook even has a session, so "ready" means idle *after*
# some other status (initializing, connecting, ...): then the kernel is connected and Run All really runs.
JS_STATUS_LOGGER = f"""(() => {{
    const log = window.__mmsimKernelStatuses = [];
    const read = () => {{
        const el = document.querySelector('{PANEL} {INDICATOR}');
        const status = el ? el.getAttribute('data-status') : null;
        if (status !== null && status !== log[log.length - 1]) {{
            log.push(status);
            window.__mmsimKernelStatusChangedAt = performance.now();
        }}
    }};
    new MutationObserver(read).observe(document, {{
        subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
    }});
}})();"""

JS_READY_OR_DIALOG = f"""() => {{
    if (document.querySelector('.jp-Dialog')) return 'dialog';
    const log = window.__mmsimKernelStatuses || [];
    const indicator = document.querySelector('{PANEL} {INDICATOR}');
    const idle = indicator && indicator.getAttribute('data-status') === 'idle';
    return idle && log.some(status => status !== 'idle') ? 'idle' : false;
}}"""

JS_CELL_COUNT = f"""() => {{
    const notebook = document.querySelector('{PANEL} .jp-Notebook');
    return notebook ? notebook.querySelectorAll('.jp-Cell').length : -1;
}}"""

# State of the open notebook: kernel status, code-cell prompts, and error outputs with their cell index.
JS_RUN_STATE = f"""() => {{
    const panel = document.querySelector('{PANEL}');
    const indicator = panel && panel.querySelector('{INDICATOR}');
    const cells = panel ? [...panel.querySelectorAll('.jp-Notebook .jp-Cell')] : [];
    const prompts = [];
    const errors = [];
    cells.forEach((cell, index) => {{
        if (cell.classList.contains('jp-CodeCell')) {{
            const prompt = cell.querySelector('.jp-InputArea-prompt');
            prompts.push(prompt ? prompt.textContent.trim() : '');
        }}
        for (const output of cell.querySelectorAll('.jp-OutputArea-output')) {{
            const mime = output.getAttribute('data-mime-type');
            const text = output.innerText || output.textContent || '';
            if (mime === 'application/vnd.jupyter.error'
                || (mime === 'application/vnd.jupyter.stderr' && text.includes('Traceback'))
                || text.trim().startsWith('Error displaying widget')) {{
                errors.push({{cell: index, mime: mime, text: text.slice(0, 3000)}});
            }}
        }}
    }});
    return {{status: indicator ? indicator.getAttribute('data-status') : null, prompts: prompts, errors: errors}};
}}"""

# Run All is over when the kernel is idle, no prompt is [*], and every non-empty code cell has an execution
# count, or an error stopped the run (JupyterLab aborts the rest, which keep an empty prompt).
JS_RUN_FINISHED = f"""(nonEmpty) => {{
    const state = ({JS_RUN_STATE})();
    if (state.status !== 'idle' || state.prompts.length !== nonEmpty.length) return false;
    if (state.prompts.some(p => p.includes('*'))) return false;
    if (state.errors.length) return true;
    return nonEmpty.every((needed, i) => !needed || /\\d/.test(state.prompts[i]));
}}"""

# Height the notebook's scroller would need to show every cell without scrolling.
JS_NOTEBOOK_OVERFLOW = f"""() => {{
    const scroller = document.querySelector('{PANEL} .jp-WindowedPanel-outer');
    const cells = document.querySelectorAll('{PANEL} .jp-Notebook .jp-Cell');
    if (!scroller || !cells.length) return 0;
    const last = cells[cells.length - 1].getBoundingClientRect();
    const top = scroller.getBoundingClientRect().top;
    const content = last.bottom - top + scroller.scrollTop + 24;
    return Math.max(0, Math.ceil(content - scroller.clientHeight));
}}"""


@dataclass
class RunResult:
    status: str | None
    prompts: list[str]
    errors: list[dict[str, Any]]  # error outputs outside cells tagged raises-exception
    unexecuted: list[int]  # code-cell numbers (1-based) of non-empty code cells without an execution count

    def describe(self) -> str:
        parts = [f"kernel status {self.status!r}, prompts {self.prompts}"]
        for error in self.errors:
            parts.append(f"--- error output in cell #{error['cell'] + 1} ({error['mime']}):\n{error['text']}")
        if self.unexecuted:
            parts.append(f"code cells never executed: {self.unexecuted}")
        return "\n".join(parts)


@dataclass
class LabPage:
    """A Playwright page on the lab server, with the few JupyterLab operations the tests need."""

    page: Any  # playwright.sync_api.Page, in a browser context of its own
    server: LabServer
    artifacts: Path
    kept: dict[str, LabPage]  # the session's notebook runs kept for a later test, by notebook path
    console: list[str] = field(default_factory=list)
    notebook: dict[str, Any] | None = None
    rel_path: str | None = None
    last_run: RunResult | None = None
    keep: bool = False
    _logger_installed: bool = False

    # -- opening and running ---------------------------------------------------------------------------------

    def run_notebook(self, rel_path: str) -> RunResult:
        """Open the notebook, Run → Run All Cells, and wait until the run is over."""
        self.open(rel_path)
        self.run_all()
        self.last_run = self.wait_run_finished()
        return self.last_run

    def keep_for_next_test(self) -> bool:
        """Hand this page, with its run notebook and live kernel, to the next test that calls :meth:`resume` for
        the same notebook, instead of closing it (saves that test a page load, a kernel start and a run)."""
        if self.rel_path is None or len(self.kept) >= MAX_KEPT_PAGES:
            return False
        self.keep = True
        return True

    def resume(self, rel_path: str) -> RunResult | None:
        """Take over the page a finished test kept for this notebook; None if there is none."""
        kept = self.kept.pop(rel_path, None)
        if kept is None:
            return None
        with contextlib.suppress(Exception):
            self.page.context.close()  # this test's own, still blank, page
        self.page, self.console, self._logger_installed = kept.page, kept.console, kept._logger_installed
        self.notebook, self.rel_path, self.last_run = kept.notebook, kept.rel_path, kept.last_run
        print(f"[browser] {rel_path}: resumed the page and kernel of the run by an earlier test")
        return self.last_run

    def close(self) -> None:
        """Close the browser context and shut the notebook's kernel down."""
        with contextlib.suppress(Exception):
            self.page.context.close()
        if self.rel_path is not None:
            self.server.shutdown_sessions(self.rel_path)

    def map_count_sliders(self):
        """Locator of the open notebook's ipywidgets sliders labelled max_map_count / free slots."""
        label = self.page.locator(".widget-label").filter(has_text=MAP_COUNT_SLIDER_LABEL)
        return self.page.locator(f"{PANEL} .widget-slider").filter(has=label)

    def open(self, rel_path: str) -> None:
        """Open a notebook from the server root and wait until all its cells are shown and its kernel is idle."""
        self.notebook = read_notebook(self.server.root / rel_path)
        self.rel_path = rel_path
        if not self._logger_installed:
            self.page.add_init_script(JS_STATUS_LOGGER)
            self._logger_installed = True
        kernel_name = self.notebook.get("metadata", {}).get("kernelspec", {}).get("name")
        if kernel_name:
            self.server.start_kernel_for(rel_path, kernel_name)
        self.page.goto(self.server.lab_url(rel_path), wait_until="domcontentloaded")
        n_cells = len(self.notebook.get("cells", []))
        try:
            self.page.wait_for_function(f"() => ({JS_CELL_COUNT})() === {n_cells}", polling=200, timeout=90_000)
        except self._timeout_error():
            got = self.page.evaluate(JS_CELL_COUNT)
            raise AssertionError(f"{rel_path}: JupyterLab shows {got} cells, the file has {n_cells}") from None
        self.wait_kernel_idle()
        self._collapse_left_sidebar()

    def wait_kernel_idle(self, timeout_s: float = KERNEL_IDLE_TIMEOUT_S) -> None:
        """Wait until the notebook's kernel is connected and idle.

        Accepts a kernel-selection dialog (a notebook whose kernelspec is not installed), fails on any other.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            remaining_ms = max(1.0, (deadline - time.monotonic()) * 1000)
            try:
                state = self.page.wait_for_function(JS_READY_OR_DIALOG, polling=200, timeout=remaining_ms).json_value()
            except self._timeout_error():
                statuses = self.page.evaluate("() => window.__mmsimKernelStatuses || []")
                raise AssertionError(
                    f"{self.rel_path}: kernel not connected and idle after {timeout_s:.0f}s "
                    f"(status now {self.kernel_status()!r}, seen {statuses})"
                ) from None
            if state == "idle":
                return
            dialog = self.page.locator(".jp-Dialog").first
            text = dialog.inner_text()
            accept = dialog.locator(".jp-Dialog-button.jp-mod-accept")
            if "kernel" not in text.lower() or accept.count() == 0:
                raise AssertionError(f"unexpected JupyterLab dialog: {text!r}")
            print(f"[browser] accepted a kernel dialog: {' '.join(text.split())!r}")
            accept.first.click()
            dialog.wait_for(state="detached", timeout=10_000)

    def kernel_status(self) -> str | None:
        return self.page.evaluate(f"() => document.querySelector('{PANEL} {INDICATOR}')?.getAttribute('data-status')")

    def run_all(self) -> None:
        """Run → Run All Cells, through the menu bar; returns once the first cell is queued or has run."""
        self.page.locator(".lm-MenuBar-item").filter(has_text=re.compile(r"^\s*Run\s*$")).click()
        self.page.locator('.lm-Menu-item[data-command="runmenu:run-all"]:not(.lm-mod-disabled)').click()
        if not any(self._non_empty_code_cells()):
            return
        try:
            self.page.wait_for_function(
                f"() => ({JS_RUN_STATE})().prompts.some(p => /[*\\d]/.test(p))", polling=100, timeout=30_000
            )
        except self._timeout_error():
            raise AssertionError(
                f"{self.rel_path}: Run All Cells started no cell within 30s: {self.run_state().describe()}"
            ) from None

    def wait_run_finished(self, timeout_s: float = RUN_ALL_TIMEOUT_S) -> RunResult:
        non_empty = self._non_empty_code_cells()
        try:
            self.page.wait_for_function(JS_RUN_FINISHED, arg=non_empty, polling=250, timeout=timeout_s * 1000)
        except self._timeout_error():
            raise AssertionError(
                f"{self.rel_path}: Run All did not finish within {timeout_s:.0f}s: {self.run_state().describe()}"
            ) from None
        return self.run_state()

    def run_state(self) -> RunResult:
        raw = self.page.evaluate(JS_RUN_STATE)
        cells = self.notebook.get("cells", []) if self.notebook else []

        def expects_error(index: int) -> bool:
            tags = cells[index].get("metadata", {}).get("tags", []) if index < len(cells) else []
            return "raises-exception" in tags

        code_cells = [c for c in cells if c.get("cell_type") == "code"]
        unexecuted = [
            number
            for number, (cell, prompt) in enumerate(zip(code_cells, raw["prompts"], strict=False), start=1)
            if cell_source(cell).strip() and not re.search(r"\d", prompt)
        ]
        errors = [e for e in raw["errors"] if not expects_error(e["cell"])]
        return RunResult(raw["status"], raw["prompts"], errors, unexecuted)

    # -- kernel activity ----------------------------------------------------------------------------------------

    def wait_kernel_settled(self, quiet_ms: int = 400, timeout_s: float = 60) -> None:
        """Wait until the kernel has been idle, with no status change, for quiet_ms (widgets echo state back
        to the kernel after an update, so one change can make more than one busy→idle cycle)."""
        try:
            self.page.wait_for_function(
                f"""(quietMs) => {{
                    const indicator = document.querySelector('{PANEL} {INDICATOR}');
                    if (!indicator || indicator.getAttribute('data-status') !== 'idle') return false;
                    return performance.now() - (window.__mmsimKernelStatusChangedAt || 0) >= quietMs;
                }}""",
                arg=quiet_ms, polling=100, timeout=timeout_s * 1000,
            )  # fmt: skip
        except self._timeout_error():
            raise AssertionError(
                f"{self.rel_path}: kernel did not settle to idle within {timeout_s:.0f}s "
                f"(status {self.kernel_status()!r})"
            ) from None

    def kernel_status_mark(self) -> int:
        """A position in the log of kernel statuses, for :meth:`kernel_statuses` (and JS checks) to start from."""
        return self.page.evaluate("() => (window.__mmsimKernelStatuses || []).length")

    def kernel_statuses(self, since: int = 0) -> list[str]:
        """Kernel statuses the notebook toolbar showed (consecutive repeats collapsed) since a mark."""
        return self.page.evaluate("(since) => (window.__mmsimKernelStatuses || []).slice(since)", since)

    # -- artifacts ----------------------------------------------------------------------------------------------

    def screenshot(self, name: str, around: Any = None) -> Path:
        """Screenshot of the whole notebook (the viewport is grown until no cell needs scrolling), or with
        ``around`` (a locator), of the viewport with that element scrolled to its top."""
        path = self.artifacts / f"{_slug(name)}.png"
        if around is not None:
            around.evaluate("el => el.scrollIntoView({block: 'start'})")
            self.page.screenshot(path=str(path))
            print(f"[browser] screenshot: {path}")
            return path
        extra = self.page.evaluate(JS_NOTEBOOK_OVERFLOW)
        height = min(VIEWPORT["height"] + extra, MAX_SCREENSHOT_HEIGHT)
        resized = height != VIEWPORT["height"]
        if resized:
            self.page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
            with contextlib.suppress(self._timeout_error()):
                self.page.wait_for_function(f"() => ({JS_NOTEBOOK_OVERFLOW})() <= 1", polling=100, timeout=5_000)
            self.page.evaluate(
                f"() => {{ const s = document.querySelector('{PANEL} .jp-WindowedPanel-outer');"
                " if (s) s.scrollTop = 0; }"
            )
        try:
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            if resized:
                self.page.set_viewport_size(VIEWPORT)
        print(f"[browser] screenshot: {path}")
        return path

    def dump(self, stem: str) -> None:
        """Viewport screenshot, page HTML and browser console, for a failed test."""
        with contextlib.suppress(Exception):
            self.page.screenshot(path=str(self.artifacts / f"{stem}.png"), full_page=True)
        with contextlib.suppress(Exception):
            (self.artifacts / f"{stem}.html").write_text(self.server.redact(self.page.content()), encoding="utf-8")
        (self.artifacts / f"{stem}.console.txt").write_text(
            self.server.redact("\n".join(self.console)) + "\n", encoding="utf-8"
        )
        print(f"[browser] failure dump: {self.artifacts / stem}.{{png,html,console.txt}}")

    # -- internals ----------------------------------------------------------------------------------------------

    def _non_empty_code_cells(self) -> list[bool]:
        """For each code cell of the open notebook: does it have code to run? (Empty cells never get a count.)"""
        assert self.notebook is not None, "open() a notebook first"
        return [bool(cell_source(c).strip()) for c in self.notebook.get("cells", []) if c.get("cell_type") == "code"]

    def _collapse_left_sidebar(self) -> None:
        """More room for the notebook: clicking the current left-sidebar tab (the file browser) collapses it."""
        tab = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if tab.count():
            tab.first.click()

    @staticmethod
    def _timeout_error() -> type[Exception]:
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        return PlaywrightTimeoutError


# ---------------------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def browser_requirements() -> None:
    """Skip off Linux; skip without chromium/Playwright/JupyterLab, except under CI=true, where that fails."""
    if not sys.platform.startswith("linux"):
        pytest.skip("browser tests run on Linux only")

    def missing(reason: str) -> None:
        if IN_CI:
            pytest.fail(
                f"{reason} (CI=true: the browser tier must run in CI, so this fails instead of skipping)", pytrace=False
            )
        pytest.skip(reason)

    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(f"{CHROMIUM} is missing: run `make browser-deps` as root (apt-get install chromium)")
    for module in ("playwright", "jupyterlab", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            missing(f"Python package {module!r} is not installed in {sys.prefix}: run `make venv`")


@pytest.fixture(scope="session")
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    raw = os.environ.get("MMSIM_ARTIFACTS")
    path = (Path(raw).expanduser() if raw else REPO_ROOT / "test-artifacts" / "browser").resolve()
    path.mkdir(parents=True, exist_ok=True)
    for pattern in ARTIFACT_PATTERNS:  # what an earlier run left (only files named as this tier names them)
        for stale in path.glob(pattern):
            stale.unlink(missing_ok=True)
    request.config.stash[ARTIFACTS_KEY] = path
    print(f"\n[browser] artifacts: {path}")
    return path


@pytest.fixture(scope="session")
def lab_server(browser_requirements: None, artifacts_dir: Path) -> Iterator[LabServer]:
    tmp = Path(tempfile.mkdtemp(prefix="mmsim-browser-"))
    server: LabServer | None = None
    try:
        root = tmp / "root"
        shutil.copytree(NOTEBOOKS_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for notebook in root.rglob("*.ipynb"):
            _strip_outputs(notebook)
        settings_dir = tmp / "app-settings"
        settings_dir.mkdir()
        (settings_dir / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2), encoding="utf-8")
        server = _launch_server(tmp, root, settings_dir, _server_env(tmp / "home"))
        print(f"[browser] JupyterLab {server.url} serving {root}")
        yield server
    finally:
        if server is not None:
            server.stop()
            with contextlib.suppress(OSError):
                log = server.log_path.read_text(encoding="utf-8", errors="replace")
                (artifacts_dir / "jupyter-server.log").write_text(server.redact(log), encoding="utf-8")
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium(browser_requirements: None):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def kept_pages(lab_server: LabServer, chromium) -> Iterator[dict[str, LabPage]]:
    """Notebook runs a test handed on (:meth:`LabPage.keep_for_next_test`); whatever is left is closed at the end."""
    kept: dict[str, LabPage] = {}
    yield kept
    for lab in kept.values():
        lab.close()
    kept.clear()


@pytest.fixture
def lab_page(
    request: pytest.FixtureRequest, lab_server: LabServer, chromium, artifacts_dir: Path, kept_pages: dict[str, LabPage]
) -> Iterator[LabPage]:
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    lab = LabPage(page, lab_server, artifacts_dir, kept_pages)
    page.on("console", lambda msg: lab.console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: lab.console.append(f"[pageerror] {exc}"))
    try:
        yield lab
    finally:
        reports = request.node.stash.get(REPORTS_KEY, {})
        failed = any(report.failed for report in reports.values())
        if failed:
            with contextlib.suppress(Exception):
                lab.dump(f"FAILED-{_slug(request.node.name)}")
        if lab.keep and not failed:
            kept_pages[lab.rel_path] = lab
        else:
            lab.close()  # the next test of this notebook gets a fresh kernel
