# Solution to 04-the-bug, exercise 1: the free slots at which seed-W leaves partial state on 5.0.
from mmsim.exercises import check_bug_slots
from mmsim.experiments import sweep

df = sweep("seed-W", "5.0", slacks=range(0, 17), progress=False)
print(df[["slack", "outcome", "check", "where"]].to_string(index=False))
answer = [int(s) for s in df.loc[df["outcome"] == "PARTIAL_FAIL", "slack"]]
check_bug_slots(answer)
