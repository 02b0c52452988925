# Solution to 05-the-fix, exercise 1: an early check for a smaller move_vma() headroom.
#
# The early check must guarantee that move_vma()'s own check still passes AFTER mremap_to()'s unmaps:
#   free slots needed before the call = free slots move_vma wants when it starts
#                                       + what the destination and tail unmaps may add.
# With the move check "refuse when map_count + 2 > max_map_count", move_vma refuses at 1 free slot or fewer,
# so it wants 2; each of the two unmaps may punch a hole (+1 each), so the early check needs 2 + 2 = 4.
# Written as a condition: refuse when map_count + 4 > max_map_count. That is exactly the early check of
# Linux 7.1 (notebook 07), which also adopted this move check.
import mmsim
from mmsim.exercises import check_smaller_headroom_free_slots
from mmsim.plots import check_threshold

MAX = mmsim.DEFAULT_MAX_MAP_COUNT
move_needs = MAX - check_threshold("move_vma_limit_v7", MAX) + 1  # fails from MAX - 1, so it wants 2 free slots
worst_unmap_growth = 2  # destination punch + tail punch, one VMA each
answer = move_needs + worst_unmap_growth
check_smaller_headroom_free_slots(answer)
