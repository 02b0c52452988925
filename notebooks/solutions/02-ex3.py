# Solution to 02-limits-everywhere, exercise 3: VMAs left by the failed 3-way mprotect at 1 free slot.
from mmsim.exercises import check_partial_split_vmas
from mmsim.experiments import Runner
from mmsim.scenarios import get

sc = get("mprotect-3way")
outcome, before, after = Runner().before_after(sc, "6.18", 1)
print(outcome)
for v in after.vmas_in(*sc.window):
    print(v.maps_line())
answer = len(after.vmas_in(*sc.window))
check_partial_split_vmas(answer)
