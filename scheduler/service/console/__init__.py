"""The planners' web console: server-rendered HTML and inline SVG, a little vanilla
JavaScript (EventSource, fetch), no JavaScript libraries. It reads the same ``PlanBook``
as the gRPC servicer, solves (what-ifs) under the servicer's admission, and runs in the
server's own event loop (uvicorn as a task)."""

from scheduler.service.console.http import Console

__all__ = ["Console"]
