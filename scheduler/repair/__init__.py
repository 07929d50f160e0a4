"""The repair pipeline: right-shift tier, CP-SAT tier, watchdog, receipt."""

from scheduler.domain.tiers import TierName
from scheduler.repair.attempt import Attempt, Candidate, Tier
from scheduler.repair.pipeline import TIERS, RepairOutcome, repair
from scheduler.repair.receipt import Change, Receipt, change
from scheduler.repair.right_shift import Reference, right_shift, tier_zero

__all__ = [
    "TIERS",
    "Attempt",
    "Candidate",
    "Change",
    "Receipt",
    "Reference",
    "RepairOutcome",
    "Tier",
    "TierName",
    "change",
    "repair",
    "right_shift",
    "tier_zero",
]
