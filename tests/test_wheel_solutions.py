"""The hosted path (#25): an installed wheel, not the checkout, gives ``mmsim.exercises.solution()`` every solution
file. Builds the wheel of this tree, installs it without dependencies into a fresh virtual environment that borrows
the test environment's third-party packages (not its editable mmsim), and reads the solutions from there, with the
working directory outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_solution_works_from_an_installed_wheel(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    # MMSIM_PURE=1: this test is about the solutions, not the mypyc build (.ci/compiled-tier tests that)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
                           capture_output=True, text=True, timeout=600, env=dict(os.environ, MMSIM_PURE="1"))
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here (pip needs setuptools from an index): {build.stderr[-300:]}")
    wheel = next(wheels.glob("mmsim-*.whl"))
    env_dir = tmp_path / "hosted"
    venv.EnvBuilder(with_pip=True).create(env_dir)  # its own pip: installing must not touch the test environment
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # third-party packages from the test environment; its editable mmsim is a .pth this path entry does not run
    Path(purelib, "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # the fresh environment's own pip (pip run from the test environment with --prefix would first uninstall the
    # test environment's editable mmsim)
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    expected = sorted(p.stem for p in (ROOT / "notebooks" / "solutions").glob("*.py"))
    probe = ("import mmsim, mmsim.exercises as x; "
             "print(mmsim.__file__); print(x.solutions_dir()); "
             "print(','.join(n for n in x.EXERCISES if x.solution(n).strip()))")
    out = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    where, sol_dir, names = out.stdout.strip().splitlines()
    assert not where.startswith(str(ROOT)), f"mmsim was imported from the checkout: {where}"
    assert not sol_dir.startswith(str(ROOT)) and sol_dir.endswith("share/mmsim/solutions"), sol_dir
    assert sorted(names.split(",")) == expected
    here = subprocess.run([sys.executable, "-c", "import mmsim; print(mmsim.__file__)"], capture_output=True,
                          text=True, cwd=tmp_path).stdout.strip()
    assert here.startswith(str(ROOT)), f"the test environment's mmsim moved: {here}"
