"""Parse ``/proc/PID/maps`` (and ``smaps``) and turn a snapshot into an :class:`mmsim.AddressSpace`.

A maps line is (fs/proc/task_mmu.c, ``show_map_vma()``)::

    start-end perms offset major:minor inode      path

``start``/``end``/``offset`` are hex, ``perms`` is ``r``/``w``/``x`` or ``-`` then ``s`` (VM_MAYSHARE) or
``p``, and the path column, after padding, is a file name (possibly with spaces and a `` (deleted)`` suffix; a
newline in a name is shown as ``\\012``), a pseudo-name such as ``[heap]``, ``[stack]``, ``[vdso]``,
``[vvar]``, ``[vvar_vclock]``, ``[vsyscall]`` or ``[anon:name]``, or nothing for private anonymous memory.
``smaps`` adds ``Key: value`` lines after each header line; :func:`parse` keeps them in
:attr:`MapsEntry.fields` (``VmFlags`` as a tuple of two-letter flags).

``[vsyscall]`` is not a VMA of the process (it is the gate area, outside ``mm->map_count``), so
:func:`map_count` and :func:`to_address_space` leave it out.

:func:`parse` accepts only lines the kernel can print, and names the line of the first one it cannot:
``start < end``, both page aligned, ``end <= TASK_SIZE`` (``0x7ffffffff000``, x86-64 with 4-level paging;
pass ``task_size=`` for 5-level paging), an offset that is a page multiple below 2**64, a device number of
at most 12:20 bits and an inode below 2**64 (``%lu``). The one line above TASK_SIZE is x86-64's gate area,
``ffffffffff600000-ffffffffff601000 ... [vsyscall]``, accepted exactly there and nowhere else.
"""

from __future__ import annotations

import itertools
import operator
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmsim.constants import PAGE_SHIFT, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE
from mmsim.vmatree import gc_paused

__all__ = ["TASK_SIZE", "VSYSCALL_START", "VSYSCALL_END", "MapsEntry", "load", "map_count", "parse", "read",
           "to_address_space"]

#: x86-64's vsyscall page (arch/x86/include/uapi/asm/vsyscall.h: VSYSCALL_ADDR), shown as ``[vsyscall]``.
VSYSCALL_START = 0xFFFFFFFFFF600000
VSYSCALL_END = VSYSCALL_START + PAGE_SIZE

_HEADER = re.compile(
    r"([0-9a-fA-F]+)-([0-9a-fA-F]+) ([r-][w-][x-][sp]) ([0-9a-fA-F]+) ([0-9a-fA-F]+):([0-9a-fA-F]+) ([0-9]+)"
)
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):\s*(.*)")
_KB = re.compile(r"([0-9]+) kB")
_U64 = 1 << 64
#: include/linux/kdev_t.h: MINORBITS 20, and a dev_t is 32 bits, so the major has 12.
_MAJOR_MAX, _MINOR_MAX = (1 << 12) - 1, (1 << 20) - 1
#: Kernel "special mapping" names (``_install_special_mapping``) and the gate area.
SPECIAL_NAMES = frozenset(
    {"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "[uprobes]", "[sigpage]", "[vectors]"}
)
#: VmFlags mnemonics (``show_smap_vma_flags()``) of VM_SPECIAL, with the model's names.
_SPECIAL_MNEMONICS = {"io": "IO", "de": "DONTEXPAND", "pf": "PFNMAP", "mm": "MIXEDMAP"}
#: VM_SPECIAL of x86's vvar pages (``map_vdso()``: VM_IO|VM_PFNMAP, plus VM_DONTEXPAND from
#: ``_install_special_mapping()``); other special mappings have VM_DONTEXPAND only. Used without smaps.
_DEFAULT_SPECIAL = {
    "[vvar]": frozenset({"IO", "PFNMAP", "DONTEXPAND"}),
    "[vvar_vclock]": frozenset({"IO", "PFNMAP", "DONTEXPAND"}),
}


@dataclass(frozen=True)
class MapsEntry:
    """One line of /proc/PID/maps (plus its smaps fields, if it came from smaps).

    ``offset`` is in bytes, as printed (``pgoff`` gives it in pages); ``dev`` is ``"major:minor"`` in hex
    as printed; ``path`` is ``""`` for anonymous memory.
    """

    start: int
    end: int
    perms: str
    offset: int
    dev: str
    inode: int
    path: str = ""
    fields: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        """Length in bytes."""
        return self.end - self.start

    @property
    def pages(self) -> int:
        """Length in pages."""
        return self.size >> PAGE_SHIFT

    @property
    def pgoff(self) -> int:
        """vm_pgoff: the offset column in pages."""
        return self.offset >> PAGE_SHIFT

    @property
    def prot(self) -> int:
        """The PROT_* bits of the perms column."""
        p = self.perms
        return (
            (PROT_READ if p[0] == "r" else 0)
            | (PROT_WRITE if p[1] == "w" else 0)
            | (PROT_EXEC if p[2] == "x" else 0)
        )

    @property
    def shared(self) -> bool:
        """VM_MAYSHARE (the ``s`` in the perms column)."""
        return self.perms[3] == "s"

    @property
    def deleted(self) -> bool:
        """True when the mapped file was unlinked (`` (deleted)`` suffix)."""
        return self.path.endswith(" (deleted)")

    @property
    def vm_flags(self) -> tuple[str, ...] | None:
        """smaps' VmFlags mnemonics, or None when the entry came from maps."""
        return self.fields.get("VmFlags")

    @property
    def kind(self) -> str:
        """What backs the VMA: ``"anon"`` (private anonymous, including [heap], [stack] and [anon:name]),
        ``"shared_anon"`` (MAP_SHARED|MAP_ANONYMOUS, SysV shm, [anon_shmem:name]), ``"special"`` ([vdso],
        [vvar], [vsyscall], ...) or ``"file"``."""
        path = self.path
        if path in SPECIAL_NAMES:
            return "special"
        if path.startswith("[anon_shmem:"):
            return "shared_anon"
        if path == "" or path in ("[heap]", "[stack]") or path.startswith(("[stack:", "[anon:")):
            return "shared_anon" if self.shared else "anon"
        if self.shared and (path.startswith("/SYSV") or path == "/dev/zero (deleted)"):
            return "shared_anon"
        return "file"

    def __str__(self) -> str:
        line = f"{self.start:08x}-{self.end:08x} {self.perms} {self.offset:08x} {self.dev} {self.inode}"
        return f"{line:<73}{self.path}" if self.path else line


def _short(line: str, limit: int = 200) -> str:
    """``repr(line)``, cut to ``limit`` characters for an error message."""
    text = repr(line)
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(line)} chars)"


def _hex(digits: str, lineno: int, what: str) -> int:
    """A hex column that must fit an unsigned long (checked on the digits, before converting)."""
    if len(digits.lstrip("0")) > 16:
        raise ValueError(f"line {lineno}: {what} {digits[:40]}{'...' if len(digits) > 40 else ''} is not below 2**64")
    return int(digits, 16)


def _parse_header(line: str, lineno: int, task_size: int = TASK_SIZE) -> MapsEntry:
    """One ``start-end perms offset dev inode [path]`` line; ValueError naming ``lineno`` for any value
    ``show_map_vma()`` cannot print."""
    m = _HEADER.match(line)
    if not m:
        raise ValueError(f"line {lineno}: not a /proc/PID/maps line: {_short(line)}")
    rest = line[m.end() :]
    if rest and not rest[0].isspace():
        raise ValueError(f"line {lineno}: no space after the inode column: {_short(line)}")
    start, end = _hex(m.group(1), lineno, "start"), _hex(m.group(2), lineno, "end")
    if end <= start:
        raise ValueError(f"line {lineno}: end {end:#x} is not above start {start:#x} (a VMA is never empty)")
    if start % PAGE_SIZE or end % PAGE_SIZE:
        raise ValueError(f"line {lineno}: {start:#x}-{end:#x} is not page aligned ({PAGE_SIZE:#x})")
    path = rest.lstrip(" ")
    if end > task_size and not (path == "[vsyscall]" and (start, end) == (VSYSCALL_START, VSYSCALL_END)):
        raise ValueError(
            f"line {lineno}: {start:#x}-{end:#x} ends above TASK_SIZE {task_size:#x}; only [vsyscall] at "
            f"{VSYSCALL_START:x}-{VSYSCALL_END:x} may lie there"
        )
    offset = _hex(m.group(4), lineno, "offset")
    if offset % PAGE_SIZE:
        raise ValueError(f"line {lineno}: offset {offset:#x} is not a multiple of the page size (it is pgoff << "
                         f"{PAGE_SHIFT})")
    major, minor = m.group(5), m.group(6)
    if len(major.lstrip("0")) > 3 or len(minor.lstrip("0")) > 5 or int(major, 16) > _MAJOR_MAX \
            or int(minor, 16) > _MINOR_MAX:
        raise ValueError(f"line {lineno}: device {major[:20]}:{minor[:20]} is not a dev_t (12-bit major, 20-bit "
                         f"minor)")
    inode = m.group(7)
    if len(inode.lstrip("0")) > 20 or int(inode) >= _U64:
        raise ValueError(f"line {lineno}: inode {inode[:40]}{'...' if len(inode) > 40 else ''} is not below "
                         f"2**64 ({len(inode)} digits)")
    return MapsEntry(start, end, m.group(3), offset, f"{major}:{minor}", int(inode), path)


def _field_value(key: str, raw: str) -> Any:
    if key == "VmFlags":
        return tuple(raw.split())
    raw = raw.strip()
    m = _KB.fullmatch(raw)
    number = m.group(1) if m else raw if raw.isascii() and raw.isdigit() else None
    if number is None:
        return raw
    if len(number.lstrip("0")) > 20 or int(number) >= _U64:  # smaps prints unsigned longs
        raise ValueError(f"{key}: {number[:40]}{'...' if len(number) > 40 else ''} is not below 2**64 "
                         f"({len(number)} digits)")
    return int(number)


def parse(text: str, *, task_size: int = TASK_SIZE) -> list[MapsEntry]:
    """Parse /proc/PID/maps or /proc/PID/smaps text into entries, in file order.

    Lines are split on ``"\\n"`` only (a name may hold other control characters). Blank lines are ignored.
    Raises ValueError naming the line for anything that is neither a maps line nor (after one) an smaps
    ``Key: value`` line, and for a maps line the kernel cannot print (see the module docstring): an empty,
    reversed or unaligned range, one that ends above ``task_size`` (other than x86-64's ``[vsyscall]``
    page), or a number column that does not fit its C type. Lines are not required to be in order: a read
    that races with changes to the process can repeat or overlap ranges.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the maps text as str, not {type(text).__name__}")
    entries: list[MapsEntry] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if line[0] in "0123456789abcdefABCDEF" and _HEADER.match(line):
            entries.append(_parse_header(line, lineno, task_size))
            continue
        m = _FIELD.match(line)
        if m and entries:
            try:
                entries[-1].fields[m.group(1)] = _field_value(m.group(1), m.group(2))
            except ValueError as e:
                raise ValueError(f"line {lineno}: {e}") from None
            continue
        raise ValueError(f"line {lineno}: not a /proc/PID/maps line: {_short(line)}")
    return entries


def read(pid: int | str = "self", *, smaps: bool = False, task_size: int = TASK_SIZE) -> list[MapsEntry]:
    """Read and parse ``/proc/<pid>/maps`` (or ``smaps``, which adds VmFlags etc.) of a process
    (``task_size`` as for :func:`parse`)."""
    if isinstance(pid, bool) or not isinstance(pid, (int, str)) or not re.fullmatch(r"self|\d+", str(pid)):
        raise ValueError(f"pid must be a process id or 'self', not {pid!r}")
    path = f"/proc/{pid}/{'smaps' if smaps else 'maps'}"
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parse(f.read(), task_size=task_size)


def map_count(entries: Iterable[MapsEntry]) -> int:
    """``mm->map_count`` of a snapshot: every entry except ``[vsyscall]``."""
    return sum(1 for e in entries if e.path != "[vsyscall]")


def _prot_of(flags: Sequence[str], r: str, w: str, x: str) -> int:
    return (
        (PROT_READ if r in flags else 0)
        | (PROT_WRITE if w in flags else 0)
        | (PROT_EXEC if x in flags else 0)
    )


def _file_size_pages(e: MapsEntry) -> int | None:
    """The file's size in pages, when its path still names the same inode (else None)."""
    if not e.path.startswith("/") or e.deleted:
        return None
    try:
        st = os.stat(e.path)
    except OSError:
        return None
    if st.st_ino != e.inode:
        return None
    return -(-st.st_size // PAGE_SIZE)


def to_address_space(
    entries: Sequence[MapsEntry], kernel: str = "6.18", max_map_count: int | None = None
) -> Any:
    """Build an :class:`mmsim.AddressSpace` holding the VMAs of a maps/smaps snapshot.

    * file-backed entries share one :class:`mmsim.File` per distinct ``(dev, inode, path)``, so pieces of
      one mapping stay mergeable as in the kernel;
    * each shared anonymous entry (``/dev/zero (deleted)``, ``/SYSV...``) gets a fresh shmem File, since
      each MAP_SHARED|MAP_ANONYMOUS mmap has its own;
    * private anonymous entries get pgoff = start / PAGE_SIZE, the value mmap gives them: the offset column
      cannot be used, the kernel prints 0 for every VMA without a file (``show_map_vma()``), and it
      would make neighbours look unmergeable. (A VMA that mremap moved after it was faulted keeps its old
      pgoff in the kernel; /proc does not show that.)
    * special mappings ([vdso], [vvar], ...) get a File of their own and ``special`` flags, so nothing
      merges with them; ``[vsyscall]`` is skipped.

    From smaps, VmFlags give VM_ACCOUNT (``ac``), VM_NORESERVE (``nr``), VM_SPECIAL and the VM_MAY* bits,
    and a private entry with ``Anonymous`` pages gets an anon_vma (a new identity per entry: which VMAs
    share one is not visible in /proc). From maps alone: ``accounted`` = private and writable
    (``accountable_mapping`` without MAP_NORESERVE), [heap] and [stack] have an anon_vma, nothing else
    does, and [vvar]/[vvar_vclock] get VM_IO|VM_PFNMAP|VM_DONTEXPAND, other special mappings VM_DONTEXPAND.
    ``max_map_count=None`` uses the model's default.
    """
    import mmsim

    files: dict[tuple[str, int, str], Any] = {}
    anon_ids = itertools.count(1)
    records = []
    for e in entries:
        if e.path == "[vsyscall]":
            continue
        kind = e.kind
        flags = e.vm_flags
        file = None
        if kind == "file":
            key = (e.dev, e.inode, e.path)
            if key not in files:
                files[key] = mmsim.File(e.path, _file_size_pages(e))
            file = files[key]
        elif kind == "shared_anon":
            file = mmsim.File(e.path, None, shmem=True)
        elif kind == "special":
            file = mmsim.File(e.path, None)
        if flags is not None:
            special = frozenset(name for mn, name in _SPECIAL_MNEMONICS.items() if mn in flags)
            accounted = "ac" in flags
            noreserve = "nr" in flags
            maxprot = _prot_of(flags, "mr", "mw", "me")
            faulted = not e.shared and int(e.fields.get("Anonymous") or 0) > 0
        else:
            special = (
                _DEFAULT_SPECIAL.get(e.path, frozenset({"DONTEXPAND"})) if kind == "special" else frozenset()
            )
            accounted = not e.shared and bool(e.prot & PROT_WRITE) and kind in ("anon", "file")
            noreserve = False
            maxprot = PROT_READ if e.path in _DEFAULT_SPECIAL else PROT_READ | PROT_WRITE | PROT_EXEC
            faulted = e.path in ("[heap]", "[stack]")
        records.append(
            mmsim.VMA(
                e.start,
                e.end,
                e.prot,
                shared=e.shared,
                pgoff=e.start >> PAGE_SHIFT if kind == "anon" else e.pgoff,
                file=file,
                anon_vma=next(anon_ids) if faulted else None,
                accounted=accounted,
                noreserve=noreserve,
                special=special,
                maxprot=maxprot,
            )
        )
    kw = {} if max_map_count is None else {"max_map_count": max_map_count}
    return mmsim.AddressSpace.from_vmas(records, kernel=kernel, **kw)


# ---- the bulk path: maps text straight to an address space ------------------------------------------------

_LINE = re.compile(
    r"^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][sp]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) ([0-9]+)(?: +(.*))?$", re.M
)
_PROT_OF = {f"{r}{w}{x}": (PROT_READ if r == "r" else 0) | (PROT_WRITE if w == "w" else 0)
            | (PROT_EXEC if x == "x" else 0) for r in "r-" for w in "w-" for x in "x-"}


def _chunks(text: str, size: int = 1 << 20) -> Iterable[str]:
    """``text`` in pieces of about ``size`` characters, each ending at a newline (the last one may not)."""
    i, n = 0, len(text)
    while i < n:
        j = text.find("\n", min(i + size, n - 1))
        j = n if j < 0 else j + 1
        yield text[i:j]
        i = j


@gc_paused()
def load(text: str, kernel: str = "6.18", max_map_count: int | None = None, *, task_size: int = TASK_SIZE) -> Any:
    """An :class:`mmsim.AddressSpace` straight from /proc/PID/maps text, in one pass.

    The same address space as ``to_address_space(parse(text))``, built without the per-line
    :class:`MapsEntry` objects: one regular expression over the whole text, then one VMA per line and the
    tree built directly (:meth:`mmsim.AddressSpace.from_vmas`). Text that the bulk reader does not accept as
    it is (smaps fields, blank lines, uppercase hex, anything :func:`parse` would refuse) goes through
    :func:`parse` and :func:`to_address_space`, which name the line of any error. O(n) for n lines.

    >>> mm = load("00400000-00401000 r--p 00000000 08:01 1234    /usr/bin/true\\n"
    ...           "7f0000000000-7f0000002000 rw-p 00000000 00:00 0\\n")
    >>> mm.map_count, mm.vmas()[0].file.name
    (2, '/usr/bin/true')
    """
    import mmsim

    if not isinstance(text, str):
        raise TypeError(f"load() takes the maps text as str, not {type(text).__name__}")
    lines = text.count("\n") + (0 if not text or text.endswith("\n") else 1)
    files: dict[tuple[str, str, str], Any] = {}
    tnew, vma_cls = tuple.__new__, mmsim.VMA
    rwx = PROT_READ | PROT_WRITE | PROT_EXEC
    records: list[Any] = []
    append = records.append
    empty = frozenset[str]()
    prot_of = _PROT_OF
    anon_ids = itertools.count(1)  # [heap], [stack]: numbered in order, as the careful reader numbers them
    matched = 0
    for chunk in _chunks(text):  # a chunk's rows at a time: the match tuples never all exist at once
        rows = _LINE.findall(chunk)
        matched += len(rows)
        for s, e, perms, off, dev, ino, path in rows:
            start, end = int(s, 16), int(e, 16)
            prot = prot_of[perms[:3]]
            if not path:  # anonymous memory, by far the most lines of a large process
                if perms[3] == "p":
                    append(tnew(vma_cls, (start, end, prot, False, start >> PAGE_SHIFT, None, None,
                                          bool(prot & PROT_WRITE), False, empty, rwx)))
                else:
                    append(tnew(vma_cls, (start, end, prot, True, 0, mmsim.File("", None, shmem=True), None, False,
                                          False, empty, rwx)))
                continue
            if path.startswith("[") or path.startswith("/SYSV") or path == "/dev/zero (deleted)":
                # special mappings, [heap]/[stack]/[anon:..], SysV shm: the careful reader's rules, per entry
                entry = _parse_header(f"{s}-{e} {perms} {off} {dev} {ino} {path}", 0, task_size)
                records.extend(v if v.anon_vma is None else v._replace(anon_vma=next(anon_ids))
                               for v in to_address_space([entry], kernel).vmas())
                continue
            shared = perms[3] == "s"
            key = (dev, ino, path)
            f = files.get(key)
            if f is None:
                f = files[key] = mmsim.File(path, _file_size_pages(MapsEntry(start, end, perms, 0, dev, int(ino),
                                                                             path)))
            append(tnew(vma_cls, (start, end, prot, shared, int(off, 16) >> PAGE_SHIFT, f, None,
                                  not shared and bool(prot & PROT_WRITE), False, empty, rwx)))
    # Anything the bulk reader did not take as it is goes to the careful reader, which names the line.
    if matched == lines and not (records and max(map(operator.itemgetter(1), records)) > task_size):
        kw = {} if max_map_count is None else {"max_map_count": max_map_count}
        try:  # from_vmas refuses unaligned, empty and overlapping VMAs in C-level passes
            return mmsim.AddressSpace.from_vmas(records, kernel=kernel, **kw)
        except ValueError:  # the careful reader names the line (or raises from_vmas's own error)
            pass
    return to_address_space(parse(text, task_size=task_size), kernel, max_map_count)


def read_if_available(pid: int | str = "self", *, smaps: bool = False,
                      task_size: int = TASK_SIZE) -> tuple[list[MapsEntry] | None, str]:
    """:func:`read`, or ``(None, reason)`` where ``/proc/<pid>/maps`` cannot be read (no ``/proc``: macOS,
    Windows, a container without it; no such process; no permission). Returns ``(entries, "")`` otherwise.

    For notebooks that show a real process's maps but must run anywhere (notebook 01)::

        entries, why = procmaps.read_if_available()
        if entries is None:
            print("Skipped:", why)

    >>> read_if_available(pid=4194305)[0] is None   # above the largest pid_max: no such process
    True
    """
    path = f"/proc/{pid}/{'smaps' if smaps else 'maps'}"
    if not os.path.isdir("/proc/self"):
        return None, f"this system has no /proc (so no {path}): everything else in the course works without it"
    try:
        return read(pid, smaps=smaps, task_size=task_size), ""
    except OSError as e:
        return None, f"cannot read {path}: {e.strerror or e}"
