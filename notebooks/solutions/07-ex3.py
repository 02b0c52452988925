# Solution to 07-after-2019, exercise 3: the catalogue scenarios 6.18 and 7.1 treat differently at 4 free slots.
#
# At 4 free slots 7.1's early check (map_count + 4 <= max_map_count) just passes, while 6.18's
# (map_count + 2 < max_map_count - 3) refuses MREMAP_FIXED and DONTUNMAP calls. Put the two kernels' outcome
# classes side by side and keep the scenarios where they differ.
from mmsim.exercises import check_changed_at_free_slots
from mmsim.experiments import sweep

df = sweep(None, kernels=["6.18", "7.1"], free_slots=[4], progress=False)
table = df.pivot(index="scenario", columns="kernel", values="outcome")
answer = set(table.index[table["6.18"] != table["7.1"]])
check_changed_at_free_slots(answer)
