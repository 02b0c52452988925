# Solution to 03-mremap-paths, exercise 2: DONTUNMAP of 2 pages from the middle of O to page 30.
# copy_vma creates the new VMA; with DONTUNMAP nothing is unmapped and the old VMA is not split.
from mmsim.exercises import check_dontunmap_delta, mremap_explorer

explorer = mremap_explorer("6.18")
explorer.controls["offset"].value = 2
explorer.controls["old_size"].value = 2
explorer.controls["new_size"].value = 2
explorer.controls["dontunmap"].value = True
explorer.controls["dest"].value = 30
o = explorer.last_run["outcome"]
print(o)
print(o.trace)
answer = o.mc_after - o.mc_before
check_dontunmap_delta(answer)
