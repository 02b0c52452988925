# Solution to 06-false-positives, exercise 2: fewest free slots for k_whole(2), per kernel.
#
# The call moves a whole 2-page VMA onto 2 whole VMAs: map_count drops by 2 when it succeeds.
# * 5.0 and 5.1-alt only need the move check to pass after the destination unmap removed 2 VMAs;
# * 5.1 and 6.18 refuse any MREMAP_FIXED below 6 free slots (early check), whatever it would do;
# * 7.1's early check wants map_count + 4 <= max_map_count for every mremap;
# * ideal runs the call and keeps it because it never raises map_count: any number of free slots will do.
# For each kernel, take the fewest free slots from which every larger count succeeds.
from mmsim import KERNELS
from mmsim.exercises import check_k_whole_min_free_slots
from mmsim.experiments import sweep
from mmsim.scenarios import k_whole

df = sweep(k_whole(2), kernels=KERNELS, free_slots=range(0, 11), progress=False)
answer = {}
for kernel in KERNELS:
    rows = df[df["kernel"] == kernel].sort_values("free_slots", ascending=False)
    fewest = None
    for free, outcome in zip(rows["free_slots"], rows["outcome"], strict=True):
        if outcome != "OK":
            break
        fewest = int(free)
    answer[kernel] = fewest
check_k_whole_min_free_slots(answer)
