# Solution to 06-false-positives, exercise 1: 5.1's false-positive rate over the catalogue.
#
# false_positive_rate() is the share of a kernel's rows whose outcome is FALSE_POSITIVE: refused by an
# anticipatory check, nothing changed, and the same call with that check disabled fits within the limits.
from mmsim.exercises import check_fp_rate
from mmsim.experiments import false_positive_rate, sweep

df = sweep(None, kernels="5.1", free_slots=range(0, 11), progress=False)  # None = the whole catalogue
answer = false_positive_rate(df)["5.1"]
check_fp_rate(answer)
