"""CP-SAT model of ProblemData: variables, constraints, objective, hints, run, extract."""

from scheduler.solver.run import SolverConfig, SolveResult, SolveStatus, solve

__all__ = ["SolveResult", "SolveStatus", "SolverConfig", "solve"]
