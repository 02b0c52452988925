# Solution to 04-the-bug, exercise 3: the fewest free slots at which 5.1 completes seed-W.
from mmsim.exercises import check_fixed_min_slots
from mmsim.experiments import sweep

df = sweep("seed-W", "5.1", free_slots=range(0, 11), progress=False)
print(df[["free_slots", "outcome", "check"]].to_string(index=False))
answer = int(df.loc[df["outcome"] == "OK", "free_slots"].min())
check_fixed_min_slots(answer)
