"""Command line of the demo server: ``serve`` runs it; the other commands talk to a
running server's admin endpoint (URL and admin token from the options, from
``DEMO_SERVER_URL``/``DEMO_SERVER_ADMIN_TOKEN``, or from the ``admin.json`` that
``serve`` writes into its storage directory).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8080


def default_storage() -> Path:
    """Where ``serve`` keeps its SQLite database unless told otherwise."""
    import platformdirs

    return platformdirs.user_data_path("reviewer-demo-server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo_server",
        description="Reference FHIR R4 + DICOMweb server for Reviewer (synthetic data only).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server on 127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--cases", type=int, default=12)
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--ct-slices", type=int, default=220)
    serve.add_argument(
        "--storage",
        type=Path,
        default=None,
        help="directory of the SQLite database (default: user data dir)",
    )
    serve.add_argument(
        "--dicomweb",
        default=None,
        metavar="URL",
        help="external DICOMweb base (e.g. Orthanc .../dicom-web); instances "
        "are stored there with STOW-RS",
    )
    serve.add_argument("--admin-token", default=None)
    serve.add_argument("--access-token-lifetime", type=float, default=300.0, metavar="SECONDS")
    serve.add_argument(
        "--unassigned",
        type=int,
        default=0,
        help="leave the last N cases without owner (for assign)",
    )
    serve.add_argument(
        "--omit-instances",
        action="store_true",
        help="ImagingStudy lists series but no instances (clients must use QIDO-RS)",
    )
    serve.add_argument("--retention-days", type=int, default=30)
    serve.add_argument("--verbose", action="store_true", help="log every request")

    def admin_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--server", default=None, help="base URL of the running server")
        command.add_argument("--admin-token", default=None)
        command.add_argument(
            "--storage",
            type=Path,
            default=None,
            help="storage directory of the server (to find admin.json)",
        )
        return command

    admin_command("cases", "list the cases and their owners")
    assign = admin_command("assign", "give an unowned or withdrawn case to a specialist")
    assign.add_argument("case", help="case key (SYN-0003) or Task id")
    assign.add_argument("--to", default="spec-1", help="Practitioner id")
    withdraw = admin_command("withdraw", "withdraw a case (Task cancelled)")
    withdraw.add_argument("case")
    withdraw.add_argument("--reason", default="Withdrawn by the platform")
    reassign = admin_command("reassign", "move a case to another specialist")
    reassign.add_argument("case")
    reassign.add_argument("--to", required=True, help="Practitioner id (e.g. spec-2)")
    touch = admin_command("touch", "change a case (new Task version)")
    touch.add_argument("case")
    fault = admin_command("fault", "inject a fault, or --clear them")
    fault.add_argument("--latency-ms", type=int)
    fault.add_argument("--error-rate", type=float)
    fault.add_argument("--error-status", type=int)
    fault.add_argument("--drop-after-bytes", type=int)
    fault.add_argument("--path", help="regular expression on the request path")
    fault.add_argument("--times", type=int, help="fire only this many times")
    fault.add_argument("--clear", action="store_true")
    admin_command("audit", "list the AuditEvents received")
    admin_command("opinions", "list the opinions (DocumentReferences) received")
    admin_command("reset", "forget all state and reload the cases")
    return parser


def serve(args: argparse.Namespace) -> int:
    """Run the server in the foreground until interrupted."""
    from demo_server.server import start

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    storage = args.storage or default_storage()
    running = start(
        port=args.port,
        cases=args.cases,
        seed=args.seed,
        storage=storage,
        dicomweb=args.dicomweb,
        ct_slices=args.ct_slices,
        access_token_lifetime=args.access_token_lifetime,
        admin_token=args.admin_token,
        unassigned=args.unassigned,
        omit_instances=args.omit_instances,
        retention_days=args.retention_days,
    )
    info = storage / "admin.json"
    info.write_text(json.dumps({"url": running.base_url, "admin_token": running.admin_token}))
    info.chmod(0o600)
    print(f"FHIR base     {running.fhir_base}")
    print(f"DICOMweb      {running.app.dicomweb_address}")
    print("Sign in as    dr.demo / demo   (or dr.other / demo)")
    print(f"Admin token   {running.admin_token}")
    print(f"Storage       {storage}")
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    running.stop()
    return 0


def _admin_target(args: argparse.Namespace) -> tuple[str, str]:
    url = args.server or os.environ.get("DEMO_SERVER_URL")
    token = args.admin_token or os.environ.get("DEMO_SERVER_ADMIN_TOKEN")
    info = (args.storage or default_storage()) / "admin.json"
    if (url is None or token is None) and info.exists():
        saved = json.loads(info.read_text())
        url = url or saved["url"]
        token = token or saved["admin_token"]
    if url is None or token is None:
        raise SystemExit("no running server found: give --server and --admin-token")
    return url.rstrip("/"), token


def admin(args: argparse.Namespace) -> int:
    """Send one admin command and print the answer as JSON."""
    import httpx

    url, token = _admin_target(args)
    method, path, body = "POST", args.command, None
    data: dict[str, Any] = {}
    if args.command in ("cases", "audit", "opinions"):
        method = "GET"
        path = {"cases": "cases", "audit": "audit-events", "opinions": "opinions"}[args.command]
    elif args.command in ("assign", "reassign"):
        data = {"case": args.case, "practitioner": args.to}
    elif args.command == "withdraw":
        data = {"case": args.case, "reason": args.reason}
    elif args.command == "touch":
        data = {"case": args.case}
    elif args.command == "fault":
        path = "faults"
        if args.clear:
            method = "DELETE"
        else:
            fields = (
                "latency_ms",
                "error_rate",
                "error_status",
                "drop_after_bytes",
                "path",
                "times",
            )
            data = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
    if data:
        body = data
    try:
        response = httpx.request(
            method,
            f"{url}/admin/{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
        )
    except httpx.HTTPError as error:
        raise SystemExit(f"cannot reach {url}: {error}") from error
    print(json.dumps(response.json(), indent=2))
    return 0 if response.is_success else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m demo_server``."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return admin(args)
