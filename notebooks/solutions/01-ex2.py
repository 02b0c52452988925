# Solution to 01-vmas-and-map-count, exercise 2: make pages 3-5 read-write again.
from mmsim import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, AddressSpace
from mmsim.exercises import check_remerge_count

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
mm = AddressSpace("6.18")
a = mm.mmap(0, 10 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS)
mm.mprotect(a + 3 * P, 3 * P, PROT_READ)
mm.mprotect(a + 3 * P, 3 * P, RW)  # the pieces agree again: the trace shows a merge
print(mm.trace)
answer = mm.map_count
check_remerge_count(answer)
