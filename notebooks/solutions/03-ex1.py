# Solution to 03-mremap-paths, exercise 1: grow the last 2 pages of O to 5 pages, then to 7 pages.
# O ends at page 8 and D starts at page 12. Growing to 5 pages needs pages 8-10, which are free: O is
# extended in place. Growing to 7 pages needs pages 8-12, and page 12 belongs to D: the range moves.
from mmsim.exercises import check_grow_or_move, mremap_explorer

explorer = mremap_explorer("6.18")
explorer.controls["offset"].value = 6
explorer.controls["old_size"].value = 2
changes = []
for new_size in (5, 7):
    explorer.controls["new_size"].value = new_size  # the explorer re-runs the call
    o = explorer.last_run["outcome"]
    print(f"new size {new_size}: {o.kind}, map_count {o.mc_after - o.mc_before:+d}, steps {o.trace.steps()}")
    changes.append(o.mc_after - o.mc_before)
answer = tuple(changes)
check_grow_or_move(answer)
