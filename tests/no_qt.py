"""Run a module with PySide6 (and shiboken6) made impossible to import.

``python -m tests.no_qt -m pytest ...`` is how the core's tests prove that
``reviewer_app`` works in an environment without Qt: any import of Qt, however
indirect, raises ImportError before it can load.
"""

from __future__ import annotations

import importlib.abc
import runpy
import sys

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "ui")


class _QtBlocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname.split(".")[0] in BLOCKED:
            raise ImportError(f"{fullname} is blocked: the core must run without Qt")
        return None  # not blocked: the normal finders look for it  # noqa: PLR1711


def main() -> None:
    sys.meta_path.insert(0, _QtBlocker())
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "-m":
        raise SystemExit("usage: python -m tests.no_qt -m MODULE [ARGS]")
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
