"""The kernel's flows, one module per file of the kernel's mm/ directory.

* :mod:`~mmsim.kernel.call` — :class:`~mmsim.kernel.call.Call`, the state of one running system call;
* :mod:`~mmsim.kernel.vma` — the shared primitives (lookups, split, the unmap engine and its state
  :class:`~mmsim.kernel.vma.Munmap`, merges; mm/vma.c);
* :mod:`~mmsim.kernel.mmap` — mmap and munmap (mm/mmap.c);
* :mod:`~mmsim.kernel.mprotect` — mprotect (mm/mprotect.c);
* :mod:`~mmsim.kernel.memory` — page faults as far as VMAs see them (mm/memory.c, mm/rmap.c);
* :mod:`~mmsim.kernel.mremap` — every mremap path (mm/mremap.c).

Flows take a :class:`~mmsim.kernel.call.Call` and unsigned-long arguments; they read the profile
(:mod:`mmsim.profiles`) for which checks run where and which release behaviours apply, and never branch on a
profile's name. Users call them through :class:`mmsim.AddressSpace`.
"""
