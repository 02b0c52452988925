# Solution to 09-capstone, exercise 3: the profiles no other one beats on both axes.
#
# A profile is dominated when another has a partial-failure rate and a false-positive rate that are both lower
# or equal, one of them strictly lower. ideal is left out: it beats every real check by construction. This uses
# your profile `mine` from exercise 2 (or, run on its own, the solution of exercise 2).
from mmsim.exercises import CAPSTONE_KERNELS, capstone_sweep, check_frontier, solution
from mmsim.experiments import tradeoff_table

mine = globals().get("mine")  # your profile from exercise 2
if mine is None:  # this file run on its own: take the solution of exercise 2
    ex2: dict = {}
    exec(solution("09-ex2"), ex2)
    mine = ex2["mine"]

# the profiles of the plot, all on 5.0's flow, without ideal
kernels = [k for k in CAPSTONE_KERNELS if k != "ideal"]
table = tradeoff_table(capstone_sweep(mine, kernels=kernels))
print((table[["partial_failure_rate", "false_positive_rate"]] * 100).round(2))
answer = set()
for name, row in table.iterrows():
    beaten = False
    for other, o in table.iterrows():
        no_worse = (o["partial_failure_rate"] <= row["partial_failure_rate"]
                    and o["false_positive_rate"] <= row["false_positive_rate"])
        better = (o["partial_failure_rate"] < row["partial_failure_rate"]
                  or o["false_positive_rate"] < row["false_positive_rate"])
        if other != name and no_worse and better:
            beaten = True
    if not beaten:
        answer.add(name)
check_frontier(answer, mine)
