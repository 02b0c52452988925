# Solution to 10-real-workloads, exercise 2: how many seed-W-shaped moves fit in 7 free slots under 7.1.
#
# Each call maps its own two VMAs first (the layout), then moves: 7.1 needs map_count + 4 <= max before the move
# (4 free slots) and the move adds 3 VMAs: the destination and tail hole punches and the copy; once the tail is
# gone the source is a trim off its VMA's end, which adds nothing (semantics §7.1). calls_that_fit() counts it
# from the model's own numbers.
from mmsim.exercises import check_calls_that_fit
from mmsim.workloads import calls_that_fit

r = calls_that_fit(7, "seed-W", ["7.1"])["7.1"]
print(r)
answer = r["calls"]
check_calls_that_fit(answer)
