# Solution to 00-start-here, exercise 2: the fewest free slots at which munmap-punch succeeds on 6.18.
# Instead of moving the slider, sweep the free slots and read the outcome of each run.
from mmsim.exercises import check_punch_min_slots
from mmsim.experiments import sweep

df = sweep("munmap-punch", "6.18", free_slots=range(-1, 6), progress=False)
print(df[["free_slots", "outcome", "check"]].to_string(index=False))
answer = int(df.loc[df["outcome"] == "OK", "free_slots"].min())
check_punch_min_slots(answer)
