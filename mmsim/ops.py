"""The operation vocabulary: every operation the model, the scenarios and the live runner speak, defined once.

An operation is a name (``"mmap"``, ``"munmap"``, ``"mprotect"``, ``"touch"``, ``"mremap"``, and the live
runner's ``"nop"``) with its parameters in the order of the :class:`~mmsim.AddressSpace` method, their
defaults, and which of them are addresses. Scenarios and live runs give addresses relative to a base (the
layout's page 0, or the live arena), with ``None`` for "no address" (NULL: no hint).

* :func:`normalize` checks an operation's arguments and fills in defaults;
* :func:`positional` gives the method's positional arguments, addresses made absolute;
* :func:`apply` runs an operation on an address space.

>>> normalize("touch", {"addr": 0})
{'addr': 0, 'length': 4096}
>>> positional("mremap", normalize("mremap", {"old_address": 0, "old_size": 4096, "new_size": 8192}), base=0x1000)
(4096, 4096, 8192, 0, 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .constants import PAGE_SIZE

if TYPE_CHECKING:
    from .addrspace import AddressSpace

__all__ = ["OPS", "Operation", "Param", "REQUIRED", "SYSCALLS", "apply", "normalize", "positional"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marks a parameter without a default.
REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Param:
    """One parameter: its name, its default (:data:`REQUIRED` if none), and whether it is an address."""

    name: str
    default: Any = REQUIRED
    address: bool = False


@dataclass(frozen=True)
class Operation:
    """One operation: its name, parameters (in the AddressSpace method's order), and whether it is a syscall."""

    name: str
    params: tuple[Param, ...]
    summary: str
    syscall: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in order."""
        return tuple(p.name for p in self.params)

    @property
    def address_params(self) -> frozenset[str]:
        """Names of the address parameters."""
        return frozenset(p.name for p in self.params if p.address)


def _ops(*ops: Operation) -> Mapping[str, Operation]:
    return MappingProxyType({o.name: o for o in ops})


#: Every operation, by name.
OPS: Mapping[str, Operation] = _ops(
    Operation("mmap", (Param("addr", address=True), Param("length"), Param("prot"), Param("flags"),
                       Param("fd", -1), Param("offset", 0)), "mmap(2)"),
    Operation("munmap", (Param("addr", address=True), Param("length")), "munmap(2)"),
    Operation("mprotect", (Param("addr", address=True), Param("length"), Param("prot")), "mprotect(2)"),
    Operation("touch", (Param("addr", address=True), Param("length", PAGE_SIZE)),
              "write-fault every page of the range, as a program writing to it"),
    Operation("mremap", (Param("old_address", address=True), Param("old_size"), Param("new_size"),
                         Param("flags", 0), Param("new_address", None, address=True)), "mremap(2)"),
    Operation("nop", (), "no system call (a live run uses it to show the count is stable)", syscall=False),
)

#: Names of the operations that are system calls of :class:`~mmsim.AddressSpace` (what classify accepts).
SYSCALLS: tuple[str, ...] = tuple(n for n, o in OPS.items() if o.syscall)


def get(name: str) -> Operation:
    """The operation called ``name``; ``ValueError`` names the choices."""
    try:
        return OPS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown operation {name!r}; choose one of {', '.join(OPS)}") from None


def normalize(name: str, given: Mapping[str, Any] | Sequence[Any] = (), *, where: str = "") -> dict[str, Any]:
    """The arguments of ``name`` as a dict in parameter order, defaults filled in.

    ``given`` is a mapping of parameter names, or a sequence of positional values. ``ValueError`` (prefixed
    with ``where``) for an unknown operation, unknown or missing parameters, or too many values. O(params).

    >>> normalize("munmap", [0x1000, 4096])
    {'addr': 4096, 'length': 4096}
    """
    op = get(name)
    prefix = f"{where}: " if where else f"{name}: "
    if isinstance(given, Mapping):
        kwargs = dict(given)
    elif isinstance(given, Sequence) and not isinstance(given, (str, bytes)):
        if len(given) > len(op.params):
            raise ValueError(f"{prefix}takes at most {len(op.params)} arguments, got {len(given)}")
        kwargs = dict(zip(op.names, given, strict=False))
    else:
        raise ValueError(f"{prefix}arguments must be a dict, not {type(given).__name__}")
    unknown = set(kwargs) - set(op.names)
    if unknown:
        raise ValueError(f"{prefix}unexpected argument(s) {', '.join(sorted(unknown))}; "
                         f"takes {', '.join(op.names) or 'none'}")
    out: dict[str, Any] = {}
    for p in op.params:
        if p.name in kwargs:
            out[p.name] = kwargs[p.name]
        elif p.default is REQUIRED:
            raise ValueError(f"{prefix}missing argument {p.name!r}")
        else:
            out[p.name] = p.default
    return out


def positional(name: str, args: Mapping[str, Any], base: int = 0) -> tuple[Any, ...]:
    """The AddressSpace method's positional arguments: an address ``a`` becomes ``base + a``, ``None`` stays 0
    (NULL). ``args`` must be normalized (:func:`normalize`). O(params)."""
    out = []
    for p in get(name).params:
        v = args[p.name]
        if p.address:
            v = 0 if v is None else base + v
        out.append(v)
    return tuple(out)


def apply(mm: AddressSpace, name: str, args: Mapping[str, Any], base: int = 0) -> Any:
    """Run operation ``name`` on ``mm`` (``nop`` does nothing); returns what the method returns.

    >>> import mmsim
    >>> mm = mmsim.AddressSpace()
    >>> hex(apply(mm, "mmap", normalize("mmap", {"addr": 0, "length": 4096, "prot": 1, "flags": 0x32}), 0x10000))
    '0x10000'
    """
    if not get(name).syscall:
        return None
    return getattr(mm, name)(*positional(name, args, base))
