# Solution to 07-after-2019, exercise 1: where 7.1 refuses a grow in place.
#
# Growing a VMA in place into free space adds no VMA, yet 7.1's new early check runs for EVERY mremap,
# before the VMA is even looked up: it refuses when map_count + 4 > max_map_count, i.e. with 3 or fewer
# free slots. Those refusals are false positives; older kernels had no check on this path at all.
from mmsim.exercises import check_v71_grow_refusals
from mmsim.experiments import sweep

df = sweep("grow-in-place", kernels="7.1", slacks=range(0, 9), progress=False)
answer = set(df.loc[df["outcome"] != "OK", "slack"])
check_v71_grow_refusals(answer)
