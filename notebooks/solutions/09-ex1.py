# Solution to 09-capstone, exercise 1: 5.1's early check, written as a predicate.
#
# ea2c3f6f5545 refuses a MREMAP_FIXED move when (map_count + 2) >= max_map_count - 3 (docs/semantics.md §3.5.1,
# F3a): +2 for the two unmaps that may each punch a hole, -3 for move_vma()'s own headroom. A predicate gets a
# CheckContext and returns (fails, the text the trace shows).
from mmsim.exercises import check_reproduces_51


def like_51(ctx):
    fails = ctx.map_count + 2 >= ctx.max_map_count - 3
    return fails, f"{ctx.map_count} + 2 >= {ctx.max_map_count} - 3"


answer = like_51
check_reproduces_51(answer)
