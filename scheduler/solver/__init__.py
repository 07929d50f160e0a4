"""CP-SAT model of ProblemData: variables, constraints, objective, hints, run, extract."""

from scheduler.solver.run import SolverConfig, SolveResult, SolveStatus, StopToken, solve
from scheduler.solver.stability import Stability

__all__ = ["SolveResult", "SolveStatus", "SolverConfig", "Stability", "StopToken", "solve"]
