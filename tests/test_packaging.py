"""Packaging consistency: pyproject.toml vs environment.yml, Makefile, README and .ci/run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent

# Conda-only entries that are not Python distributions the package asks for.
CONDA_ONLY = {"python", "pip"}


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_name(requirement: str) -> str:
    """The distribution name of a PEP 508 / conda requirement, without extras, version or markers."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert m, f"cannot parse requirement {requirement!r}"
    return normalise(m.group(1))


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def pyproject_names() -> set[str]:
    """Runtime dependencies plus the test and lab extras."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    reqs = [*project["dependencies"], *extras["test"], *extras["lab"]]
    return {dist_name(r) for r in reqs}


def environment_yml_names(text: str) -> set[str]:
    """A tiny parser for the simple environment.yml: every '- item' under 'dependencies:',
    including those nested under '- pip:'."""
    names: set[str] = set()
    in_deps = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):  # a top-level key
            in_deps = line.strip() == "dependencies:"
            continue
        if not in_deps:
            continue
        item = line.strip()
        assert item.startswith("- "), f"unexpected line in dependencies: {raw!r}"
        item = item[2:].strip()
        if item.endswith(":"):  # '- pip:' opens the nested pip list
            continue
        names.add(dist_name(item))
    return names - CONDA_ONLY


def test_environment_parser_handles_pip_section():
    text = (
        "name: x\n"
        "dependencies:\n"
        "  - python>=3.10\n"
        "  - Foo_Bar>=1  # comment\n"
        "  - pip:\n"
        "      - baz.qux[extra]==2\n"
        "other: 1\n"
    )
    assert environment_yml_names(text) == {"foo-bar", "baz-qux"}


def test_environment_yml_matches_pyproject():
    env = environment_yml_names((ROOT / "environment.yml").read_text())
    py = pyproject_names()
    assert env == py, f"only in environment.yml: {sorted(env - py)}; only in pyproject: {sorted(py - env)}"


def test_pyproject_basics():
    data = pyproject()
    project = data["project"]
    assert project["name"] == "mmsim"
    assert project["requires-python"] == ">=3.10"
    assert data["build-system"]["build-backend"] == "setuptools.build_meta"
    assert project["scripts"]["mmsim"] == "mmsim.cli:main"
    assert {"test", "lab", "dev"} <= set(project["optional-dependencies"])
    markers = " ".join(data["tool"]["pytest"]["ini_options"]["markers"])
    for marker in ("live", "browser", "slow"):
        assert re.search(rf"\b{marker}:", markers), marker


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][A-Za-z0-9_-]*)\s*:(?!=)", text, flags=re.M))


def test_makefile_has_lab_and_test_targets():
    assert {"lab", "test"} <= makefile_targets()


def test_readme_names_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme
    assert "make test" in readme


def test_ci_runs_make_test():
    ci = ROOT / ".ci" / "run"
    text = ci.read_text()
    commands = [
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert any(re.fullmatch(r"(exec\s+)?make\s+test", c) for c in commands), commands


def test_ci_run_is_executable():
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
