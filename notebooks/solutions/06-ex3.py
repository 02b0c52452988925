# Solution to 06-false-positives, exercise 3: the false positives that the 2019 alternative removes.
#
# 5.1-alt keeps 5.1's cheap trigger but then predicts exactly what the destination and tail unmaps will
# do. Its remaining false positives come from move_vma's own check (shared by both kernels), so the
# scenarios it fixes are those where 5.1's early check was the one refusing needlessly.
from mmsim.exercises import check_alt_fixes
from mmsim.experiments import sweep

df = sweep(None, kernels=["5.1", "5.1-alt"], free_slots=range(0, 11), progress=False)
fp = df[df["outcome"] == "FALSE_POSITIVE"]
answer = set(fp.loc[fp["kernel"] == "5.1", "scenario"]) - set(fp.loc[fp["kernel"] == "5.1-alt", "scenario"])
check_alt_fixes(answer)
