# Solution to 07-after-2019, exercise 2: where a four-piece multi-VMA move stops half-way.
#
# 6.17+ moves the four pieces one at a time; each piece punches its destination (+1), copies (+1) and
# removes its source (-1), so map_count climbs by one per piece, and the move check runs again for every
# piece. When the early check let the call in but the move check refuses a later piece, the pieces moved
# so far stay moved: PARTIAL_FAIL. 7.1's thresholds are lower, so this happens at a lower count there.
from mmsim.exercises import check_multi_vma_partial
from mmsim.experiments import sweep

df = sweep("multi-vma-4", kernels=["6.18", "7.1"], free_slots=range(0, 11), progress=False)
partial = df[df["outcome"] == "PARTIAL_FAIL"]
answer = {kernel: set(partial.loc[partial["kernel"] == kernel, "free_slots"]) for kernel in ("6.18", "7.1")}
check_multi_vma_partial(answer)
