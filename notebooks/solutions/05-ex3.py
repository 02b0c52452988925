# Solution to 05-the-fix, exercise 3: where 5.1 refuses seed-S needlessly.
#
# seed-S moves 6 pages without shrinking: there is no tail to unmap, so the call adds at most 3 VMAs
# (destination punch, the copy, the source punch). 5.1's early check assumes the worst case of two
# splits before move_vma and refuses whenever map_count + 2 >= max_map_count - 3. Where the call
# would have fitted without that check, the refusal is a FALSE_POSITIVE.
from mmsim.exercises import check_seed_s_false_positives
from mmsim.experiments import sweep

df = sweep("seed-S", kernels="5.1", free_slots=range(0, 9), progress=False)
answer = set(df.loc[df["outcome"] == "FALSE_POSITIVE", "free_slots"])
check_seed_s_false_positives(answer)
