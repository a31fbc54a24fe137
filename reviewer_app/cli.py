"""``reviewer-app``: the command-line interface for support staff, scripts and tests.

The parser is assembled from command modules listed in :data:`COMMAND_MODULES`; each
module has a ``register(subparsers)`` function that adds one top-level command and sets
``run=<function(args) -> exit code>`` on its parser. A later feature adds its command
by appending its module here, nothing else.

Errors: every :class:`~reviewer_app.errors.ReviewerError` prints its user text on
stderr and exits with code 2; anything unexpected prints a short line without details
(which could hold patient data) and exits with code 1.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from reviewer_app import __version__
from reviewer_app.errors import PassphraseMismatch, PassphraseRequired, ReviewerError

if TYPE_CHECKING:
    from reviewer_app.vault.profile import Profile

#: Modules adding top-level commands (each defines ``register(subparsers)``).
COMMAND_MODULES: tuple[str, ...] = (
    "reviewer_app.vault.cli",
    "reviewer_app.sync.cli",
    "reviewer_app.imaging.cli",
    "reviewer_app.opinion.cli",
)

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Reviewer keeps each specialist's cases in an encrypted profile on this computer.
This tool sets up, inspects, checks and (if needed) erases that profile.
"""

EPILOG = """\
where the profile lives:
  By default in {default}.
  Use --profile DIR (before the command) to work on another folder, e.g.
  reviewer-app --profile /media/backup/profile profile check

the profile's key:
  The database key is kept in the system keyring (GNOME Keyring/KWallet,
  macOS Keychain, Windows Credential Manager). If no keyring works, the key is
  protected by the local passphrase instead ("passphrase mode").

exit codes:
  0    done
  1    unexpected error (a bug): please report the command and the message
  2    Reviewer could not do it; the message says why and what to do
       (also used when the command line itself is wrong)
  130  interrupted (Ctrl+C)

Run "reviewer-app COMMAND --help" for the options of each command.
"""


def _default_profile_text() -> str:
    from reviewer_app.vault.profile import Profile

    return str(Profile.default().root)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every registered command."""
    parser = argparse.ArgumentParser(
        prog="reviewer-app",
        description=DESCRIPTION,
        epilog=EPILOG.format(default=_default_profile_text()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"Reviewer {__version__}")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="profile folder to use instead of the default (see below)",
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def profile_from_args(args: argparse.Namespace) -> Profile:
    """The Profile chosen by --profile, or the default one."""
    from reviewer_app.vault.profile import Profile

    if args.profile is not None:
        return Profile(args.profile)
    return Profile.default()


# --- passphrases ------------------------------------------------------------------------


def add_passphrase_stdin_option(parser: argparse.ArgumentParser) -> None:
    """``--passphrase-stdin`` for commands that may need the passphrase."""
    parser.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the passphrase from the first line of standard input (for scripts) "
        "instead of asking for it",
    )


def read_passphrase(
    args: argparse.Namespace,
    *,
    prompt: str = "Passphrase: ",
    confirm: bool = False,
    stdin: TextIO | None = None,
    ask: Callable[[str], str] = getpass.getpass,
) -> str:
    """The passphrase from stdin (``--passphrase-stdin``) or typed (twice if ``confirm``)."""
    if getattr(args, "passphrase_stdin", False):
        line = (stdin or sys.stdin).readline().rstrip("\r\n")
        if not line:
            raise PassphraseRequired("No passphrase on standard input.")
        return line
    first = ask(prompt)
    if not first:
        raise PassphraseRequired()
    if confirm and ask("Type it again: ") != first:
        raise PassphraseMismatch()
    return first


# --- running ----------------------------------------------------------------------------


def _unexpected(exc: BaseException) -> str:
    """Where it happened, without the message (which could quote patient data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {Path(last.filename).name}:{last.lineno}"
    return (
        f"reviewer-app: unexpected error ({type(exc).__name__}{where}). "
        "Nothing more is shown because details could contain patient data; "
        "please report the command you ran."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        # A command group without its subcommand (or no command at all).
        target: argparse.ArgumentParser = getattr(args, "group_parser", parser)
        target.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return run(args)
    except ReviewerError as exc:
        print(f"reviewer-app: {exc.user_text()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("reviewer-app: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        print(_unexpected(exc), file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
