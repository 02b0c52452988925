# Solution to 05-the-fix, exercise 2: where 5.1 refuses seed-W although an ideal kernel would not.
#
# Sweep seed-W under 5.1 and keep the free-slot counts where the call is refused (any outcome but OK) and
# ideal_ok is true: with every anticipatory check removed and the call undone on failure, it would have
# completed within the limits. These refusals are CLEAN_FAIL, not FALSE_POSITIVE: with only the early check
# disabled, 5.1's flow would hit move_vma's check after the unmaps (5.0's bug), so the "same flow" reference
# does not fit. They are stricter than necessary all the same.
from mmsim.exercises import check_seed_w_ideal_refusals
from mmsim.experiments import sweep

df = sweep("seed-W", kernels="5.1", free_slots=range(0, 9), progress=False)
answer = set(df.loc[(df["outcome"] != "OK") & df["ideal_ok"], "free_slots"])
check_seed_w_ideal_refusals(answer)
