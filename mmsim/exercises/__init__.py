"""Exercise checks for the course notebooks.

Each ``check_...(answer)`` prints a one-line verdict and returns True or False; the expected value is
computed by the model when the check runs. ``solution(name)`` returns the text of a solution file
(``notebooks/solutions/NN-exK.py``), the same one ``%load solutions/NN-exK.py`` shows in a notebook.
"""

from pathlib import Path as _Path

from .advanced import *  # noqa: F401,F403
from .basics import *  # noqa: F401,F403

_SOLUTIONS = _Path(__file__).resolve().parents[2] / "notebooks" / "solutions"


def solution(name: str) -> str:
    """The text of solution ``name`` (e.g. ``"04-ex1"``); FileNotFoundError lists the ones there are."""
    path = _SOLUTIONS / f"{name.removesuffix('.py')}.py"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in _SOLUTIONS.glob("*.py"))) or "none"
        raise FileNotFoundError(f"no solution {name!r} in {_SOLUTIONS}; there are: {have}")
    return path.read_text()
