"""The shop-floor twin: a discrete-event simulation (SimPy) of the line executing the latest
plan, with noise, slowdowns and breakdowns, reporting only what an MES would."""

from scheduler.twin.disturbances import Disturbances, Slowdown
from scheduler.twin.engines import InProcess, Remote, Reported, for_the_twin
from scheduler.twin.line import Twin, TwinRun

__all__ = ["Disturbances", "InProcess", "Remote", "Reported", "Slowdown", "Twin", "TwinRun", "for_the_twin"]
