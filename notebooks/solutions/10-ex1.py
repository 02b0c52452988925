# Solution to 10-real-workloads, exercise 1: thread stacks with a guard page.
#
# A stack is one mmap (+1 VMA; do_mmap() refuses only when map_count > max_map_count) and one mprotect of its
# lowest page to PROT_NONE, which splits the mapping (+1; the split needs map_count < max_map_count). So each
# complete stack costs two VMAs, and the last mmap can succeed while its guard cannot. The model runs it.
from mmsim.exercises import check_thread_stacks
from mmsim.workloads import thread_stacks

result = thread_stacks(1000, 445)
print(result)
answer = result["threads"]
check_thread_stacks(answer)
