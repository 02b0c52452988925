# Solution to 02-limits-everywhere, exercise 2: how far can mmap take map_count?
from mmsim import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, AddressSpace, MMError
from mmsim.exercises import MMAP_CEILING_MAX, check_mmap_ceiling

mm = AddressSpace("6.18", max_map_count=MMAP_CEILING_MAX)
i = 0
while True:
    prot = PROT_READ if i % 2 else PROT_READ | PROT_WRITE  # alternate so that neighbours never merge
    try:
        mm.mmap(0, PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS)
    except MMError as err:
        print("mmap failed:", err)
        print(mm.trace)
        break
    i += 1
answer = mm.map_count
check_mmap_ceiling(answer)
