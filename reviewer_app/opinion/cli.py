"""``reviewer-app verify FILE.pdf [--trust CA.pem]``: check a signed opinion.

Registered in :data:`reviewer_app.cli.COMMAND_MODULES`. Prints signer, signing time,
integrity, trust and modification level of every signature; exits 0 only when all are
valid, intact, trusted and unchanged, else 2 with a one-line reason on stderr. Trust is
the platform CA given with ``--trust``, or else the one stored in the profile at
enrollment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from reviewer_app.cli import EXIT_ERROR, EXIT_OK, add_passphrase_stdin_option, profile_from_args
from reviewer_app.errors import SignatureInvalid


def register(subparsers: Any) -> None:
    """Add the ``verify`` command."""
    parser = subparsers.add_parser(
        "verify",
        help="check the signature of a signed opinion (PDF)",
        description=(
            "Check every signature in a PDF: who signed, when, whether the signed bytes "
            "are intact, whether the certificate chains to the platform CA, and whether "
            "anything but validation data was added afterwards. Exit 0 only if all pass."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE.pdf", help="the signed PDF")
    parser.add_argument(
        "--trust",
        type=Path,
        metavar="CA.pem",
        help="PEM file of the CA to trust (default: the platform CA stored in the profile)",
    )
    add_passphrase_stdin_option(parser)
    parser.set_defaults(run=run_verify)


def _trust(args: argparse.Namespace) -> list[x509.Certificate]:
    if args.trust is not None:
        try:
            return x509.load_pem_x509_certificates(args.trust.read_bytes())
        except (OSError, ValueError) as exc:
            raise SignatureInvalid(
                f"The CA file {args.trust} could not be read as PEM certificates."
            ) from exc
    profile = profile_from_args(args)
    if not profile.exists():
        return []
    from reviewer_app.opinion.keys import SigningKeyStore
    from reviewer_app.vault.cli import open_for_cli

    with open_for_cli(args) as vault:
        return SigningKeyStore(vault).platform_ca()


def run_verify(args: argparse.Namespace) -> int:
    """``verify``."""
    # Imported here: pyHanko is slow to import and only this command needs it.
    from reviewer_app.opinion.verify import format_report, verify_pdf

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise SignatureInvalid(f"The file {args.file} could not be read.") from exc
    report = verify_pdf(data, _trust(args))
    print(format_report(report))
    if report.ok:
        return EXIT_OK
    print(f"reviewer-app: not valid: {report.reason}", file=sys.stderr)
    return EXIT_ERROR
