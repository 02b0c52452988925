# Solution to 08-live-kernel-lab, exercise 1: predict the kernel's answer for seed-S with the model.
#
# Run seed-S under the 6.18 profile (the kernel of the project's machines) at 5 and 6 free slots.
# At 5 the early check refuses (ENOMEM) although the call would fit: a false positive, but the kernel
# only returns ENOMEM; at 6 the call succeeds.
from mmsim.exercises import check_live_prediction
from mmsim.experiments import sweep

df = sweep("seed-S", kernels="6.18", free_slots=[5, 6], progress=False)
answer = {}
for free, outcome, errno in zip(df["free_slots"], df["outcome"], df["errno"], strict=True):
    answer[int(free)] = "OK" if outcome == "OK" else errno
check_live_prediction(answer)
