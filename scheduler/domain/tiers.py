"""The names of the repair tiers: what a receipt says answered."""

from __future__ import annotations

from enum import StrEnum


class TierName(StrEnum):
    """Which tier answered a repair. The proto's ``RepairTier`` has one value per name
    (``REPAIR_TIER_<NAME>``); a test keeps the two in step."""

    NONE = "none"
    """Nothing to repair."""
    RIGHT_SHIFT = "right_shift"
    """The previous plan, patched: every sequence kept, pushed later only as far as the event forces."""
    DISPATCH = "dispatch"
    """The pull dispatcher: the line's own rules played forward from now (``repair.pull``)."""
    GAP_REPAIR = "gap_repair"
    LEFT_SHIFT = "left_shift"
    """Tier 0's plan, every operation as early as its sequences allow."""
    CP_SAT = "cp_sat"
    BACKGROUND = "background"
    """A version the background improver published between events (no event asked for it)."""
