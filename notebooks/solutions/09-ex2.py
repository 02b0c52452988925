# Solution to 09-capstone, exercise 2: an early check that counts only the holes the unmaps really punch.
#
# move_vma() needs 4 free slots when it starts (move_vma_limit: map_count >= max - 3 fails). Before it, the
# destination unmap and, for a shrink, the tail unmap run. An unmap adds a VMA only when its range lies strictly
# inside one VMA (a hole punch, docs/semantics.md §2.2); a trim adds nothing and a whole VMA removed frees one.
# So the unmaps add at most one VMA per range that punches a hole, and the check below guarantees that
# move_vma still finds its 4 free slots: no partial state through the map count. Unlike 5.1's +2, it does not
# charge for holes that cannot happen. (It still ignores the VMAs an unmap frees, which 5.1-alt counts.)
from mmsim.exercises import check_own_check, own_profile
from mmsim.experiments import punches_hole


def my_check(ctx):
    a = ctx.args
    holes = int(punches_hole(ctx.mm, a.new_addr, a.new_len))
    if a.old_len > a.new_len:
        holes += punches_hole(ctx.mm, a.addr + a.new_len, a.old_len - a.new_len)
    need = 4 + holes
    return ctx.free_slots < need, f"{ctx.free_slots} free slots < 4 + {holes} holes"


mine = own_profile(my_check, "mine")
answer = mine
check_own_check(answer)
