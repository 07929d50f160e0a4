"""The repair pipeline: right-shift tier, CP-SAT tier, watchdog, receipt."""

from scheduler.repair.pipeline import RepairConfig, RepairOutcome, repair
from scheduler.repair.receipt import Change, Receipt, change
from scheduler.repair.right_shift import Reference, right_shift, serial, tier_zero

__all__ = [
    "Change",
    "Receipt",
    "Reference",
    "RepairConfig",
    "RepairOutcome",
    "change",
    "repair",
    "right_shift",
    "serial",
    "tier_zero",
]
