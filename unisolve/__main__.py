"""``python -m unisolve`` = the ``unisolve`` command."""

from .cli import main

raise SystemExit(main())
