# Solution to 04-the-bug, exercise 2: pages lost when seed-W fails on 5.0 at 1 free slot.
# The destination unmap ran; the tail's punch check then failed, so the tail is still mapped.
from mmsim.exercises import check_lost_pages
from mmsim.experiments import Runner, unmapped_ranges
from mmsim.scenarios import get

sc = get("seed-W")
outcome, before, after = Runner().before_after(sc, "5.0", 1)
print(outcome)
print(outcome.trace)
lost = unmapped_ranges(before, after, sc.window)
print("unmapped page ranges:", lost)
answer = sum(end - start for start, end in lost)
check_lost_pages(answer)
