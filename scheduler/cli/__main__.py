"""``python -m scheduler.cli``: the ``lean-scheduler`` command."""

import sys

from scheduler.cli import main

sys.exit(main())
