# Solution to 08-live-kernel-lab, exercise 2: which catalogue mremaps fail with only 4 free slots on 6.18.
#
# Keep the catalogue's mremap scenarios, sweep them at 4 free slots under 6.18 and list those whose
# outcome is not OK. The early check refuses every MREMAP_FIXED and DONTUNMAP call there; the move check
# (map_count >= max_map_count - 3) still lets plain moves through; grows and shrinks in place need no slot.
from mmsim.exercises import check_fail_at_free_slots
from mmsim.experiments import sweep
from mmsim.scenarios import CATALOGUE

mremaps = [name for name, sc in CATALOGUE.items() if sc.op == "mremap"]
df = sweep(mremaps, kernels="6.18", free_slots=[4], progress=False)
answer = set(df.loc[df["outcome"] != "OK", "scenario"])
check_fail_at_free_slots(answer)
