"""``python -m scheduler``: the ``lean-scheduler`` command."""

from scheduler.cli import main

raise SystemExit(main())
