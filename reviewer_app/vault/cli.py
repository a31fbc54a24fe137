"""``reviewer-app profile …``: set up, inspect, check and erase the local profile.

Registered in :data:`reviewer_app.cli.COMMAND_MODULES`. Output names files, counts and
settings only, never patient data, so it can be pasted into a support ticket.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reviewer_app.cli import (
    EXIT_OK,
    add_passphrase_stdin_option,
    profile_from_args,
    read_passphrase,
)
from reviewer_app.errors import (
    CorruptObject,
    DatabaseCorrupt,
    EraseNotConfirmed,
    PassphraseRequired,
    ProfileExists,
)
from reviewer_app.vault.database import cipher_integrity_check, quick_check
from reviewer_app.vault.keystore import KeySource
from reviewer_app.vault.vault import Vault, create_profile, open_profile, reset_profile

KEY_SOURCE_TEXT = {
    KeySource.KEYRING: "system keyring",
    KeySource.PASSPHRASE: "profile.json, wrapped by the local passphrase (no keyring)",
    KeySource.MEMORY: "memory only (demo profile)",
}


def register(subparsers: Any) -> None:
    """Add the ``profile`` command and its subcommands."""
    group = subparsers.add_parser(
        "profile",
        help="set up, inspect, check or erase the local profile",
        description="Manage the encrypted profile that holds this computer's cases.",
    )
    group.set_defaults(group_parser=group)
    commands = group.add_subparsers(title="profile commands", metavar="SUBCOMMAND")

    init = commands.add_parser(
        "init",
        help="create a new, empty profile",
        description=(
            "Create a new profile. You choose a local passphrase (asked twice); Reviewer "
            "asks for it when it unlocks after being idle. The database key goes into the "
            "system keyring; without a working keyring (or with --passphrase-only) the "
            "passphrase protects the key instead and is needed every time Reviewer starts."
        ),
    )
    init.add_argument(
        "--passphrase-only",
        action="store_true",
        help="do not use the system keyring; protect the key with the passphrase only",
    )
    add_passphrase_stdin_option(init)
    init.set_defaults(run=run_init)

    check = commands.add_parser(
        "check",
        help="check that the profile is intact (database and every encrypted file)",
        description=(
            "Open the profile and check it: the database structure (quick_check), the "
            "authentication of every encrypted database page (cipher_integrity_check), "
            "and that every encrypted file decrypts, authenticates and matches its recorded size "
            "and checksum. Prints a "
            "verdict; exits 0 when healthy, 2 when something is damaged."
        ),
    )
    add_passphrase_stdin_option(check)
    check.set_defaults(run=run_check)

    info = commands.add_parser(
        "info",
        help="show where the profile is, how its key is kept, and its size",
        description=(
            "Show the profile's folder, id, where its key is kept, schema version, the "
            "number of cases and encrypted files, and disk use. Shows no patient data."
        ),
    )
    add_passphrase_stdin_option(info)
    info.set_defaults(run=run_info)

    reset = commands.add_parser(
        "reset",
        help="ERASE the profile: all local cases, drafts and unsent opinions",
        description=(
            "Erase the profile: its key in the system keyring and every file Reviewer "
            "made in the folder. Cases can be downloaded again, but drafts and opinions "
            "not yet sent are lost. Requires --yes-erase-local-data."
        ),
    )
    reset.add_argument(
        "--yes-erase-local-data",
        action="store_true",
        help="confirm that local data, including unsent work, is to be erased",
    )
    reset.set_defaults(run=run_reset)


def open_for_cli(args: argparse.Namespace) -> Vault:
    """Open the chosen profile, asking for the passphrase only if the profile needs it."""
    profile = profile_from_args(args)
    try:
        return open_profile(profile)
    except PassphraseRequired:
        return open_profile(profile, passphrase=read_passphrase(args))


def _say(line: str) -> None:
    print(line, file=sys.stdout)


def run_init(args: argparse.Namespace) -> int:
    """``profile init``."""
    profile = profile_from_args(args)
    if profile.exists():
        raise ProfileExists()
    passphrase = read_passphrase(args, prompt="New local passphrase: ", confirm=True)
    key_source = KeySource.PASSPHRASE if args.passphrase_only else None
    with create_profile(profile, passphrase, key_source=key_source) as vault:
        _say(f"Created a new profile in {profile.root}")
        _say(f"Key kept in: {KEY_SOURCE_TEXT[vault.key_source]}")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """``profile check``."""
    with open_for_cli(args) as vault:
        _say(f"Profile: {vault.profile.root}")
        conn = vault.read()
        structure = quick_check(conn)
        pages = cipher_integrity_check(conn)
        if structure != ["ok"] or pages:
            _say("Database: DAMAGED")
            raise DatabaseCorrupt()
        _say("Database: intact (quick_check ok, every page authenticated)")
        total = vault.objects.count()
        problems = vault.objects.verify_all()
        for problem in problems:
            _say(f"Encrypted file {problem.object_id}: {problem.problem}")
        if problems:
            _say(f"Encrypted files: {len(problems)} of {total} DAMAGED or missing")
            raise CorruptObject(
                f"{len(problems)} of {total} encrypted files in the vault are damaged or missing."
            )
        _say(f"Encrypted files: all {total} decrypt and match their checksums")
    _say("Verdict: healthy")
    return EXIT_OK


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def run_info(args: argparse.Namespace) -> int:
    """``profile info``."""
    with open_for_cli(args) as vault:
        rows = [
            ("Profile folder", str(vault.profile.root)),
            ("Profile id", vault.profile_id),
            ("Key kept in", KEY_SOURCE_TEXT[vault.key_source]),
            ("Created", vault.created),
            ("Schema version", str(vault.schema_version)),
            ("Cases", str(vault.count_cases())),
            ("Encrypted files", str(vault.objects.count())),
            ("Disk use", _size_text(vault.profile.disk_usage())),
        ]
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        _say(f"{label + ':':<{width}} {value}")
    return EXIT_OK


def run_reset(args: argparse.Namespace) -> int:
    """``profile reset``."""
    if not args.yes_erase_local_data:
        raise EraseNotConfirmed()
    profile = profile_from_args(args)
    result = reset_profile(profile)
    _say(f"Erased the profile in {profile.root}")
    if result.keyring_entry_removed:
        _say("Its key was removed from the system keyring.")
    if result.foreign_files_left:
        _say("Files in that folder that Reviewer did not create were left in place.")
    return EXIT_OK
