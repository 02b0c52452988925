"""Binder's setup (binder/): its requirements are the project's own, and its install steps work.

The slow test does what repo2docker does with binder/ (on this machine, not in a container): a fresh virtual
environment, ``pip install -r binder/requirements.txt``, then ``binder/postBuild`` run from the root of a copy of
the repository, and checks that mmsim imports from that copy, its CLI runs and the kernel and JupyterLab are
there. Packages come from PyPI (through pip's cache when it has them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
INSTALL_TIMEOUT_S = 900
# What the install needs from the repository; the rest (tests, build output, .venv, .git) stays behind.
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache",
    "test-artifacts", ".ipynb_checkpoints", "tests", "benchmarks",
)  # fmt: skip


def _names(requirements: list[str]) -> set[str]:
    names = set()
    for line in requirements:
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            assert match, line
            names.add(re.sub(r"[-_.]+", "-", match.group(0)).lower())
    return names


def test_binder_files() -> None:
    assert (BINDER / "requirements.txt").is_file()
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    text = post_build.read_text()
    assert text.startswith("#!"), "binder/postBuild needs a shebang line"
    assert re.search(r"pip install .*-e \.", text), "postBuild must install mmsim from the repository"


def test_binder_requirements_are_project_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    known = _names(project["dependencies"]) | {
        name for extra in project["optional-dependencies"].values() for name in _names(extra)
    }
    binder = _names((BINDER / "requirements.txt").read_text().splitlines())
    assert binder, "binder/requirements.txt lists nothing"
    assert binder <= known, f"not a dependency in pyproject.toml: {sorted(binder - known)}"


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
    )
    output = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{output}"
    return proc


@pytest.mark.slow
def test_binder_install_steps_in_a_fresh_venv(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORE)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    python = str(bin_dir / "python")
    _run([python, "-m", "pip", "install", "-q", "-r", str(repo / "binder" / "requirements.txt")], repo, env)
    _run(["bash", str(repo / "binder" / "postBuild")], repo, env)  # `python` in it is the venv's (PATH)

    where = _run([python, "-c", "import mmsim, mmsim.widgets, mmsim.plots; print(mmsim.__file__)"], tmp_path, env)
    assert Path(where.stdout.strip()).resolve() == (repo / "mmsim" / "__init__.py").resolve(), where.stdout
    listing = _run([str(bin_dir / "mmsim"), "list"], tmp_path, env)
    assert "seed-W" in listing.stdout
    kernels = _run([python, "-m", "jupyter", "kernelspec", "list"], tmp_path, env)
    assert "python3" in kernels.stdout
    _run([python, "-m", "jupyter", "lab", "--version"], tmp_path, env)
