# Solution to 00-start-here, exercise 1: how many kernel profiles does the model have?
import mmsim
from mmsim.exercises import check_profile_count

print(mmsim.KERNELS)
answer = len(mmsim.KERNELS)
check_profile_count(answer)
