"""``python -m tensorrag.cli``: the ``tensorrag`` command."""

from tensorrag.cli import main

raise SystemExit(main())
