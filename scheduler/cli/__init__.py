"""The ``lean-scheduler`` command.

Exit codes: 0 success; 1 a valid outcome that is not a good one (no feasible plan, an
invalid plan under ``check``); 2 bad input (one line naming the field and value).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from scheduler.cli.parser import HANDLERS, build_parser
from scheduler.domain.errors import InputError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, _, function = HANDLERS[args.command].partition(":")
    try:
        handler = getattr(importlib.import_module(module), function)
        code: int = handler(args)
    except InputError as error:
        print(f"lean-scheduler: error: {error.summary()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
