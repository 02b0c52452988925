# Solution to 04-the-bug, exercise 1: the free slots at which seed-S leaves partial state on 5.0.
#
# seed-S is seed-W without the shrink: the destination unmap punches a hole (+1) and there is no tail to unmap.
# 5.0's only map-count check that can stop it after that unmap is move_vma()'s (map_count >= max - 3 fails,
# i.e. it needs 4 free slots): with s free slots before the call, s - 1 are left for it, so every s from 1 to 4
# fails half-way; at 0 the destination's own punch check refuses first (clean), from 5 on the call completes.
from mmsim.exercises import check_bug_slots
from mmsim.experiments import sweep

df = sweep("seed-S", "5.0", free_slots=range(0, 17), progress=False)
print(df[["free_slots", "outcome", "check", "where"]].to_string(index=False))
answer = [int(s) for s in df.loc[df["outcome"] == "PARTIAL_FAIL", "free_slots"]]
check_bug_slots(answer)
