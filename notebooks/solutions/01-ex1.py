# Solution to 01-vmas-and-map-count, exercise 1: 10 rw pages, pages 3-5 made read-only.
from mmsim import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, AddressSpace
from mmsim.exercises import check_split_count

P = PAGE_SIZE
mm = AddressSpace("6.18")
a = mm.mmap(0, 10 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
mm.mprotect(a + 3 * P, 3 * P, PROT_READ)  # pages 3, 4, 5: rw | r-- | rw
print(mm.maps(), end="")
answer = mm.map_count
check_split_count(answer)
