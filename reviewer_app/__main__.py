"""``python -m reviewer_app``: the command-line interface."""

from reviewer_app.cli import main

raise SystemExit(main())
