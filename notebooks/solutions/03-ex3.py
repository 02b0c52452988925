# Solution to 03-mremap-paths, exercise 3: FIXED move of 2 pages from the middle of O into the middle of D.
# unmap_destination punches a hole into D, copy_vma adds the new VMA, unmap_source punches a hole into O.
from mmsim.exercises import check_fixed_delta, mremap_explorer

explorer = mremap_explorer("6.18")
explorer.controls["offset"].value = 2
explorer.controls["old_size"].value = 2
explorer.controls["new_size"].value = 2
explorer.controls["fixed"].value = True
explorer.controls["dest"].value = 14
o = explorer.last_run["outcome"]
print(o)
print(o.trace)
answer = o.mc_after - o.mc_before
check_fixed_delta(answer)
