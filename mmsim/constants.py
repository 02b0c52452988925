"""Linux constants the model uses (x86-64 values), and address-space geometry.

Every value here is the kernel's own; the source is named beside each group.
"""

from __future__ import annotations

# include/asm-generic/page.h, x86-64: 4 KiB pages.
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

# include/uapi/asm-generic/mman-common.h
PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_SEM = 0x8
PROT_GROWSDOWN = 0x01000000
PROT_GROWSUP = 0x02000000

# include/uapi/linux/mman.h and include/uapi/asm-generic/mman-common.h (x86-64)
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED_NOREPLACE = 0x100000

# include/uapi/linux/mman.h
MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4

# include/linux/mm.h: #define DEFAULT_MAX_MAP_COUNT (USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN)
DEFAULT_MAX_MAP_COUNT = 65535 - 5

# arch/x86/include/asm/page_64_types.h: TASK_SIZE_MAX for 4-level paging.
TASK_SIZE = 0x7FFFFFFFF000
# Default vm.mmap_min_addr on the project's machines (semantics §1.2): the sysctl, dac_mmap_min_addr.
DEFAULT_MMAP_MIN_ADDR = 4096
# CONFIG_LSM_MMAP_MIN_ADDR of Debian's x86-64 kernels (semantics §1.2, §2.8). security/Kconfig: only with
# SECURITY && SECURITY_SELINUX, default 32768 if ARM || (ARM64 && COMPAT), else 65536. The model has no
# architecture (TASK_SIZE above is x86-64's): pass lsm_mmap_min_addr=32768 to model an arm64 kernel with COMPAT.
# The kernel's own mmap_min_addr, which rounds hints and floors the search, is the larger of the two
# (update_mmap_min_addr(), security/min_addr.c).
DEFAULT_LSM_MMAP_MIN_ADDR = 65536
# A fixed stand-in for the randomised mmap_base (semantics §1.2).
DEFAULT_MMAP_BASE = 0x7F0000000000
# TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE / 3)
TASK_UNMAPPED_BASE = ((TASK_SIZE // 3) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)

ULONG_MASK = (1 << 64) - 1


def page_align(n: int) -> int:
    """PAGE_ALIGN() on an unsigned long: round up to a page, wrapping modulo 2**64 like C."""
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1) & ULONG_MASK
