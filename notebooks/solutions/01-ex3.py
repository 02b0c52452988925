# Solution to 01-vmas-and-map-count, exercise 3: the untouched pages -> rw -> r experiment on kernel 5.0.
from mmsim import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, AddressSpace
from mmsim.exercises import check_hidden_state_count
from mmsim.experiments import vma_table

P = PAGE_SIZE
mm = AddressSpace("5.0")
a = mm.mmap(0, 10 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
mm.mprotect(a + 2 * P, 3 * P, PROT_READ | PROT_WRITE)  # becoming writable sets VM_ACCOUNT
mm.mprotect(a + 2 * P, 3 * P, PROT_READ)               # 5.0 keeps VM_ACCOUNT, so no merge
print(vma_table(mm).to_string())
answer = mm.map_count
check_hidden_state_count(answer)
