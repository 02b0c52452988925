"""Tests of mmsim.procmaps: parsing /proc/PID/maps and smaps, and building an AddressSpace from them."""

from __future__ import annotations

import os

import pytest

from mmsim import procmaps
from mmsim.constants import PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE

P = PAGE_SIZE

# Lines as fs/proc/task_mmu.c prints them (6.18, x86-64): the path column starts after padding.
MAPS = """\
55d0c8a00000-55d0c8a01000 r--p 00000000 fe:00 26723                      /usr/bin/python3.11
55d0c8a01000-55d0c8a03000 r-xp 00001000 fe:00 26723                      /usr/bin/python3.11
55d0c8a03000-55d0c8a04000 rw-p 00003000 fe:00 26723                      /usr/bin/python3.11
55d0c9000000-55d0c9021000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000002000 rw-s 00000000 00:01 4242                       /dev/zero (deleted)
7f0000002000-7f0000003000 rw-s 00001000 00:01 4243                       /dev/zero (deleted)
7f0000003000-7f0000004000 ---p 00000000 00:00 0
7f0000004000-7f0000006000 rw-p 00000000 00:00 0
7f0000010000-7f0000011000 r--p 00000000 fe:00 777                        /tmp/my data file.bin
7f0000011000-7f0000012000 r--p 00001000 fe:00 777                        /tmp/my data file.bin
7f0000012000-7f0000013000 rw-s 00000000 fe:00 778                        /tmp/gone (deleted)
7f0000013000-7f0000014000 rw-s 00000000 00:01 9                          /SYSV0000abcd (deleted)
7f0000014000-7f0000015000 rw-p 00000000 00:00 0                          [anon:my region]
7f0000020000-7f0000024000 r--p 00000000 00:00 0                          [vvar]
7f0000024000-7f0000026000 r--p 00000000 00:00 0                          [vvar_vclock]
7f0000026000-7f0000028000 r-xp 00000000 00:00 0                          [vdso]
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
"""


def test_parse_fields() -> None:
    e = procmaps.parse(MAPS)
    assert len(e) == 18
    first = e[0]
    assert (first.start, first.end, first.perms, first.offset) == (0x55D0C8A00000, 0x55D0C8A01000, "r--p", 0)
    assert (first.dev, first.inode, first.path) == ("fe:00", 26723, "/usr/bin/python3.11")
    assert e[1].pgoff == 1 and e[1].prot == PROT_READ | PROT_EXEC and e[1].pages == 2
    assert e[2].prot == PROT_READ | PROT_WRITE and not e[2].shared
    assert e[4].shared and e[4].size == 2 * P
    assert e[6].path == "" and e[6].prot == PROT_NONE
    assert e[8].path == "/tmp/my data file.bin"
    assert e[10].deleted and e[10].path == "/tmp/gone (deleted)"
    assert e[12].path == "[anon:my region]"
    assert [x.path for x in e[13:]] == ["[vvar]", "[vvar_vclock]", "[vdso]", "[stack]", "[vsyscall]"]
    assert e[-1].start == 0xFFFFFFFFFF600000


def test_kinds() -> None:
    kinds = [x.kind for x in procmaps.parse(MAPS)]
    assert kinds == [
        "file",
        "file",
        "file",
        "anon",
        "shared_anon",
        "shared_anon",
        "anon",
        "anon",
        "file",
        "file",
        "file",
        "shared_anon",
        "anon",
        "special",
        "special",
        "special",
        "anon",
        "special",
    ]


def test_map_count_excludes_vsyscall() -> None:
    assert procmaps.map_count(procmaps.parse(MAPS)) == 17
    assert procmaps.map_count([]) == 0


def test_str_round_trips() -> None:
    for x in procmaps.parse(MAPS):
        assert procmaps.parse(str(x)) == [x]


def test_parse_smaps_fields() -> None:
    text = (
        "7f0000004000-7f0000006000 rw-p 00000000 00:00 0 \n"
        "Size:                  8 kB\n"
        "Rss:                   4 kB\n"
        "Anonymous:             4 kB\n"
        "THPeligible:           0\n"
        "VmFlags: rd wr mr mw me ac \n"
        "7f0000020000-7f0000024000 r--p 00000000 00:00 0                          [vvar]\n"
        "Anonymous:             0 kB\n"
        "VmFlags: rd mr pf io de dd \n"
    )
    a, b = procmaps.parse(text)
    assert a.fields["Size"] == 8 and a.fields["Anonymous"] == 4 and a.fields["THPeligible"] == 0
    assert a.vm_flags == ("rd", "wr", "mr", "mw", "me", "ac")
    assert b.vm_flags == ("rd", "mr", "pf", "io", "de", "dd") and b.path == "[vvar]"
    assert procmaps.parse(MAPS)[0].vm_flags is None


@pytest.mark.parametrize(
    "bad",
    [
        "hello",
        "7f00-7f01 rw-p 0 00:00\n",
        "7f00-7f01 rwzp 00000000 00:00 0\n",
        "Size: 4 kB\n",  # a field with no entry before it
        "7f01-7f00 rw-p 00000000 00:00 0\n",  # end below start
        "7f00-7f01 rw-p 00000000 00:00 0x\n",
    ],
)
def test_parse_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError, match="line 1"):
        procmaps.parse(bad)


def test_parse_type_and_read_arguments() -> None:
    with pytest.raises(TypeError):
        procmaps.parse(b"7f00-7f01 rw-p 00000000 00:00 0\n")
    with pytest.raises(ValueError, match="pid"):
        procmaps.read("../etc")
    assert procmaps.parse("\n\n") == []


@pytest.mark.live
def test_read_self_matches_the_file() -> None:
    if not os.path.exists("/proc/self/maps"):
        pytest.skip("no /proc/self/maps on this host")
    entries = procmaps.read()
    with open("/proc/self/maps") as f:
        lines = f.read().splitlines()
    # The count can differ by a VMA or two between two reads (the reader allocates); compare shapes.
    assert abs(len(entries) - len(lines)) <= 4
    assert all(a.end <= b.start for a, b in zip(entries, entries[1:], strict=False))
    assert any(x.path == "[stack]" for x in entries)
    assert sum(x.path == "[vsyscall]" for x in entries) <= 1
    assert procmaps.map_count(entries) == len(entries) - sum(x.path == "[vsyscall]" for x in entries)
    smaps = procmaps.read(os.getpid(), smaps=True)
    assert all(x.vm_flags is not None for x in smaps)
    assert all(x.kind in ("anon", "shared_anon", "file", "special") for x in smaps)


# ---- to_address_space --------------------------------------------------------------------------------------


def _model():
    mmsim = pytest.importorskip("mmsim")
    if not hasattr(getattr(mmsim, "AddressSpace", None), "from_vmas"):
        pytest.fail("mmsim.AddressSpace.from_vmas is missing")
    return mmsim


def test_to_address_space_synthetic() -> None:
    mmsim = _model()
    entries = procmaps.parse(MAPS)
    mm = procmaps.to_address_space(entries, kernel="6.18", max_map_count=1000)
    assert mm.map_count == 17 and mm.max_map_count == 1000
    v = {x.start: x for x in mm.vmas()}
    exe = [v[e.start] for e in entries[:3]]
    assert exe[0].file is exe[1].file is exe[2].file and exe[0].file.name == "/usr/bin/python3.11"
    assert [x.pgoff for x in exe] == [0, 1, 3]
    assert exe[2].accounted and not exe[0].accounted
    shm1, shm2 = v[0x7F0000000000], v[0x7F0000002000]
    assert shm1.file is not shm2.file and shm1.shared and shm1.file.shmem and shm2.pgoff == 1
    anon = v[0x7F0000004000]
    assert (
        anon.file is None and anon.pgoff == 0x7F0000004000 // P and anon.accounted and anon.anon_vma is None
    )
    assert v[0x7F0000003000].accounted is False
    heap, stack = v[0x55D0C9000000], v[0x7FFD00000000]
    assert heap.anon_vma is not None and stack.anon_vma is not None and heap.anon_vma != stack.anon_vma
    data = [v[0x7F0000010000], v[0x7F0000011000]]
    assert data[0].file is data[1].file and data[0].file.name == "/tmp/my data file.bin"
    assert v[0x7F0000020000].special >= {"PFNMAP", "IO"} and v[0x7F0000026000].special == {"DONTEXPAND"}
    assert 0xFFFFFFFFFF600000 not in v
    assert isinstance(mm, mmsim.AddressSpace)


def test_to_address_space_default_max() -> None:
    mmsim = _model()
    mm = procmaps.to_address_space(procmaps.parse(MAPS))
    assert mm.max_map_count == mmsim.AddressSpace().max_map_count


@pytest.mark.live
def test_to_address_space_of_this_process() -> None:
    _model()
    if not os.path.exists("/proc/self/smaps"):
        pytest.skip("no /proc/self/smaps on this host")
    for smaps in (False, True):
        entries = procmaps.read(smaps=smaps)
        mm = procmaps.to_address_space(entries)
        assert mm.map_count == procmaps.map_count(entries)
        heap = [x for x in mm.vmas() if x.start in {e.start for e in entries if e.path == "[heap]"}]
        assert all(h.anon_vma is not None for h in heap)


# ---- lines the kernel cannot print ------------------------------------------------------------------------

TASK_SIZE_X86_64 = 0x7FFFFFFFF000  # arch/x86/include/asm/page_64_types.h (4-level paging)
LA57_TASK_SIZE = (1 << 56) - P  # the same, 5-level paging
GOOD = "7f0000004000-7f0000006000 rw-p 00000000 00:00 0\n"
VSYSCALL = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"


@pytest.mark.parametrize(
    "line, why",
    [
        ("800000000000-800000001000 rw-p 00000000 00:00 0", "TASK_SIZE"),
        ("7ffffffff000-800000000000 rw-p 00000000 00:00 0", "TASK_SIZE"),  # straddles it
        ("7fffffffe000-7ffffffff001 rw-p 00000000 00:00 0", "aligned"),
        ("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0", "TASK_SIZE"),  # the range, not the name
        ("ffffffffff700000-ffffffffff701000 --xp 00000000 00:00 0   [vsyscall]", "TASK_SIZE"),  # the name elsewhere
        ("ffffffffff600000-ffffffffff602000 --xp 00000000 00:00 0   [vsyscall]", "TASK_SIZE"),
        ("10000000000000000-10000000000001000 rw-p 00000000 00:00 0", "2**64"),
        ("0-fffffffffffffffff000 rw-p 00000000 00:00 0", "2**64"),
        ("0-" + "f" * 5000 + " rw-p 00000000 00:00 0", "2**64"),
        ("7f0000000000-7f0000000000 rw-p 00000000 00:00 0", "not above start"),
        ("7f0000001000-7f0000000000 rw-p 00000000 00:00 0", "not above start"),
        ("7f0000000001-7f0000001000 rw-p 00000000 00:00 0", "aligned"),
        ("7f0000000000-7f0000000fff rw-p 00000000 00:00 0", "aligned"),
        ("7f0000000000-7f0000001000 r--p 00000800 fe:00 12 /lib/x", "offset"),
        ("7f0000000000-7f0000001000 r--p 10000000000000000 fe:00 12 /lib/x", "2**64"),
        ("7f0000000000-7f0000001000 r--p 00000000 1000:00 12 /lib/x", "device"),
        ("7f0000000000-7f0000001000 r--p 00000000 fe:100000 12 /lib/x", "device"),
        ("7f0000000000-7f0000001000 r--p 00000000 fe:00 18446744073709551616 /lib/x", "inode"),
        ("7f0000000000-7f0000001000 r--p 00000000 fe:00 " + "7" * 5000 + " /lib/x", "inode"),
        ("7f0000000000-7f0000001000 r--p 00000000 fe:00 \u0661\u0662 /lib/x", "not a /proc/PID/maps line"),
    ],
)
def test_parse_rejects_impossible_vmas_naming_the_line(line: str, why: str) -> None:
    text = GOOD + "\n" + line + "\n" + GOOD.replace("7f00000040", "7f00000080").replace("7f00000060", "7f00000090")
    with pytest.raises(ValueError, match=r"^line 3: ") as info:
        procmaps.parse(text)
    assert why in str(info.value)
    assert len(str(info.value)) < 400  # a 5,000-digit column is not echoed whole


def test_parse_rejects_huge_smaps_numbers_naming_the_line() -> None:
    text = GOOD + "Size:                  8 kB\n" + "Rss: " + "9" * 5000 + " kB\n"
    with pytest.raises(ValueError, match=r"^line 3: Rss: 9+\.\.\. is not below 2\*\*64"):
        procmaps.parse(text)
    with pytest.raises(ValueError, match=r"^line 2: THPeligible"):
        procmaps.parse(GOOD + "THPeligible: 18446744073709551616\n")


def test_parse_accepts_the_edges() -> None:
    top = f"{TASK_SIZE_X86_64 - 0x21000:x}-{TASK_SIZE_X86_64:x} rw-p 00000000 00:00 0      [stack]\n"
    edge = (
        "0-1000 rw-p 00000000 00:00 0\n"  # page 0: root may map it (vm.mmap_min_addr = 0)
        "7f0000000000-7f0000001000 r--p fffffffffffff000 fff:fffff 18446744073709551615 /lib/x\n"
    )
    entries = procmaps.parse(edge + top + VSYSCALL)
    assert [e.end for e in entries] == [P, 0x7F0000001000, TASK_SIZE_X86_64, 0xFFFFFFFFFF601000]
    assert entries[1].inode == 2**64 - 1 and entries[1].offset == 2**64 - P and entries[1].dev == "fff:fffff"
    assert procmaps.map_count(entries) == 3  # [vsyscall] stays outside mm->map_count
    assert procmaps.parse(GOOD + "Rss: 18446744073709551615 kB\n")[0].fields["Rss"] == 2**64 - 1


def test_parse_task_size_for_five_level_paging() -> None:
    high = "fffffffe000000-fffffffe001000 rw-p 00000000 00:00 0\n"  # above 47 bits, below 56
    with pytest.raises(ValueError, match="line 1: .*TASK_SIZE"):
        procmaps.parse(high)
    assert procmaps.parse(high + VSYSCALL, task_size=LA57_TASK_SIZE)[0].start == 0xFFFFFFFE000000
    with pytest.raises(ValueError, match="line 1"):
        procmaps.parse(f"{LA57_TASK_SIZE:x}-{LA57_TASK_SIZE + P:x} rw-p 00000000 00:00 0\n", task_size=LA57_TASK_SIZE)


def test_parse_does_not_require_order() -> None:
    """A read that races with the process can show overlapping lines: parse keeps them, as printed."""
    a = "7f0000000000-7f0000004000 rw-p 00000000 00:00 0\n"
    b = "7f0000002000-7f0000003000 rw-p 00000000 00:00 0\n"
    assert [e.start for e in procmaps.parse(a + b)] == [0x7F0000000000, 0x7F0000002000]


# ---- the bulk reader (procmaps.load) against the careful one (parse + to_address_space) ----------------------


def _shape(mm) -> list[tuple]:
    """An address space's VMAs with each File replaced by (name, size, shmem, index of its first use) and each
    anon_vma by the index of its first use: what both readers must agree on, identity classes included."""
    files: dict[int, int] = {}
    anons: dict[int, int] = {}
    out = []
    for v in mm.vmas():
        f = None if v.file is None else (v.file.name, v.file.size_pages, v.file.shmem,
                                         files.setdefault(id(v.file), len(files)))
        a = None if v.anon_vma is None else anons.setdefault(v.anon_vma, len(anons))
        out.append((v.start, v.end, v.prot, v.shared, v.pgoff, f, a, v.accounted, v.noreserve, v.special,
                    v.maxprot))
    return out


def test_load_builds_what_the_careful_reader_builds() -> None:
    careful = procmaps.to_address_space(procmaps.parse(MAPS))
    bulk = procmaps.load(MAPS)
    assert _shape(bulk) == _shape(careful)
    assert bulk.map_count == careful.map_count == 17  # 18 lines, [vsyscall] not counted
    bulk.check_invariants()


def test_load_of_a_live_process_matches_the_careful_reader() -> None:
    if not os.path.exists("/proc/self/maps"):
        pytest.skip("no /proc")
    with open("/proc/self/maps") as f:
        text = f.read()
    assert _shape(procmaps.load(text)) == _shape(procmaps.to_address_space(procmaps.parse(text)))


@pytest.mark.parametrize("line, message", [
    ("7f0000000800-7f0000001000 rw-p 00000000 00:00 0\n", "line 1"),  # unaligned start
    ("7f0000002000-7f0000001000 rw-p 00000000 00:00 0\n", "line 1"),  # reversed
    ("7ffffffff000-800000001000 rw-p 00000000 00:00 0\n", "TASK_SIZE"),  # above TASK_SIZE
])
def test_load_names_the_bad_line_as_parse_does(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as bulk:
        procmaps.load(MAPS.replace("[stack]\n", "[stack]\n" + line))
    with pytest.raises(ValueError) as careful:
        procmaps.parse(MAPS.replace("[stack]\n", "[stack]\n" + line))
    assert str(bulk.value) == str(careful.value)


def test_load_refuses_overlaps_as_the_careful_reader_does() -> None:
    text = "7f0000000000-7f0000003000 rw-p 00000000 00:00 0\n7f0000002000-7f0000004000 r--p 00000000 00:00 0\n"
    with pytest.raises(ValueError, match="overlaps") as bulk:
        procmaps.load(text)
    with pytest.raises(ValueError) as careful:
        procmaps.to_address_space(procmaps.parse(text))
    assert str(bulk.value) == str(careful.value)
