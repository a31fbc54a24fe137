"""``python -m demo_server``: see demo_server/cli.py and demo_server/README.md."""

from demo_server.cli import main

raise SystemExit(main())
