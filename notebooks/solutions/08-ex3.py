# Solution to 08-live-kernel-lab, exercise 3: which profile models each release.
#
# From the profile table (docs/semantics.md §0): 5.0.x -> "5.0"; 5.1 to 5.6 -> "5.1" (nothing modelled
# changed before DONTUNMAP in 5.7, so the distribution kernel 5.4 is modelled exactly); 6.1 to 6.6 -> "6.1";
# 6.17 up to 7.0 -> "6.18" (same checks and flow); 7.1.x -> "7.1". The other releases (e.g. 6.8) mix some
# of the later changes with earlier rules, so no profile models them exactly: None
# (mmsim.release_coverage() names what differs).
# (mmsim.profiles.profile_for_release() implements exactly this table.)
from mmsim.exercises import check_profile_for_release

answer = {
    "5.0.21": "5.0",
    "5.1.15": "5.1",
    "5.4.0-150-generic": "5.1",
    "6.1.0-28-amd64": "6.1",
    "6.8.0-45-generic": None,
    "6.17.2": "6.18",
    "6.18.44-fc-v782": "6.18",
    "7.0.1": "6.18",
    "7.1.3": "7.1",
}
check_profile_for_release(answer)
