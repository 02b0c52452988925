"""The kinds of things, as str-valued Enums: an outcome's class, a trace record's kind, a check's kind.

Each member *is* its string (``OutcomeKind.OK == "OK"``), prints and shows as it (``str()`` and ``repr()`` give
the string's), and is stored as it in DataFrames and CSV files (sweeps store the value), so code written against
the strings keeps working while a wrong value is an error where it is made.

>>> OutcomeKind("PARTIAL_FAIL") is OutcomeKind.PARTIAL_FAIL, str(StepKind.CHECK), CheckKind.ENFORCING == "enforcing"
(True, 'check', True)
>>> OutcomeKind("partial")
Traceback (most recent call last):
ValueError: 'partial' is not a valid OutcomeKind
"""

from __future__ import annotations

from enum import Enum

__all__ = ["CheckKind", "OutcomeKind", "StepKind"]


class _StrEnum(str, Enum):
    """A str Enum whose members print as their value (Python 3.11's StrEnum, for 3.10 too)."""

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:  # shown as the string it is, in tuples, lists and doctests
        return repr(str(self.value))

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class OutcomeKind(_StrEnum):
    """The class of one call (semantics §6)."""

    OK = "OK"
    FALSE_POSITIVE = "FALSE_POSITIVE"
    CLEAN_FAIL = "CLEAN_FAIL"
    PARTIAL_FAIL = "PARTIAL_FAIL"


class StepKind(_StrEnum):
    """The kind of a trace record (semantics §8)."""

    CHECK = "check"
    STEP = "step"
    VALIDATE = "validate"
    TXN = "txn"


class CheckKind(_StrEnum):
    """Whether a map_count check sits where a VMA is created, or predicts growth to come (semantics §0)."""

    ENFORCING = "enforcing"
    ANTICIPATORY = "anticipatory"
