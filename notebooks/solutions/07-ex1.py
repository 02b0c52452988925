# Solution to 07-after-2019, exercise 1: where 7.1 refuses a hole-punching shrink needlessly.
#
# shrink-punch cuts the tail off a range inside a VMA: the tail is a hole punch (+1), which every kernel checks
# (map_count >= max_map_count refuses, so it needs 1 free slot). 7.1's new early check runs for EVERY mremap
# and refuses when map_count + 4 > max_map_count, i.e. with 3 or fewer free slots. At 0 free slots the punch
# check would refuse anyway (CLEAN_FAIL, a needed refusal); at 1 to 3 the call would have fitted: FALSE_POSITIVE.
from mmsim.exercises import check_v71_needless_refusals
from mmsim.experiments import sweep

df = sweep("shrink-punch", kernels="7.1", free_slots=range(0, 9), progress=False)
answer = set(df.loc[df["outcome"] == "FALSE_POSITIVE", "free_slots"])
check_v71_needless_refusals(answer)
