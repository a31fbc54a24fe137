"""The app's log: the console, and a rotating file in the profile (``<profile>/logs``).

The file is what support asks for (Help ▸ Open log folder). The rule that makes it safe
to send: **log calls carry no patient data** — no names, no identifiers (case ids, MRNs,
UIDs), no URLs with identifiers in them, no exception messages (they can quote
anything); log types, counts, durations and states instead. httpx, which logs every
request URL, is kept at WARNING. docs/deployment.md states the rule for IT.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_NAME = "reviewer.log"
#: Rotated at this size, keeping this many old files: at most about 5 MB per profile.
MAX_BYTES = 1_000_000
BACKUPS = 4
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that would write identifiers (request URLs) or floods at INFO.
QUIET = ("httpx", "httpcore", "openjpeg")


def configure_console(level: int = logging.INFO) -> None:
    """Log to stderr, as a terminal start shows it."""
    logging.basicConfig(level=level, format=FORMAT)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def attach_profile_log(logs_dir: Path) -> logging.Handler:
    """Also log to ``logs_dir/reviewer.log`` (rotated); the folder is created private.

    Replaces the handler of a profile attached before (one log file at a time)."""
    from reviewer_app.vault.profile import create_private_file, make_private_dir

    detach_profile_log()
    make_private_dir(logs_dir)
    path = logs_dir / LOG_NAME
    if not path.exists():
        create_private_file(path)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.set_name("reviewer-profile-log")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def profile_log_handler() -> logging.handlers.RotatingFileHandler | None:
    """The profile's file handler, if one is attached."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "reviewer-profile-log" and isinstance(
            handler, logging.handlers.RotatingFileHandler
        ):
            return handler
    return None


def detach_profile_log() -> None:
    """Stop writing the profile's log file (at quit, or before erasing the profile)."""
    handler = profile_log_handler()
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def log_folder() -> Path | None:
    """The folder of the log file being written, if any."""
    handler = profile_log_handler()
    return Path(handler.baseFilename).parent if handler is not None else None
