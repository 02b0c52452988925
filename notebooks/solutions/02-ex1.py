# Solution to 02-limits-everywhere, exercise 1: the fewest free slots for mprotect-3way on 6.18.
# Each split checks map_count >= max on its own, and the first split uses a slot before the second checks.
from mmsim.exercises import check_mprotect_3way_slots
from mmsim.experiments import sweep

df = sweep("mprotect-3way", "6.18", free_slots=range(0, 5), progress=False)
print(df[["free_slots", "outcome", "check"]].to_string(index=False))
answer = int(df.loc[df["outcome"] == "OK", "free_slots"].min())
check_mprotect_3way_slots(answer)
