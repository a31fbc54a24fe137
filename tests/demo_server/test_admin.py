"""Admin commands on the demo server: assign, withdraw and reassign change what the
owner search returns; the CLI drives the same endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from demo_server.server import RunningServer
from tests.demo_server.helpers import admin_client, api_client

ROOT = Path(__file__).resolve().parents[2]


def _owned(api: httpx.Client, practitioner: str = "spec-1") -> dict[str, str]:
    bundle = api.get("Task", params={"owner": f"Practitioner/{practitioner}"}).json()
    return {e["resource"]["id"]: e["resource"]["status"] for e in bundle.get("entry", [])}


def test_assign_withdraw_reassign(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        # fresh_server leaves the last case unassigned.
        assert _owned(api) == {"syn-0001-task": "requested", "syn-0002-task": "requested"}

        assert admin.post("/assign", json={"case": "SYN-0003"}).status_code == 200
        assert "syn-0003-task" in _owned(api)

        withdrawn = admin.post("/withdraw", json={"case": "SYN-0001", "reason": "Test"})
        assert withdrawn.json()["status"] == "cancelled"
        assert _owned(api)["syn-0001-task"] == "cancelled"
        assert api.get("Task/syn-0001-task").json()["statusReason"]["text"] == "Test"

        admin.post("/reassign", json={"case": "syn-0002-task", "practitioner": "spec-2"})
        assert "syn-0002-task" not in _owned(api)
        with api_client(fresh_server, "dr.other") as other:
            assert _owned(other, "spec-2") == {"syn-0002-task": "requested"}

        # Assigning a case someone owns is a conflict; unknown cases and people are errors.
        assert admin.post("/assign", json={"case": "SYN-0002"}).status_code == 409
        assert admin.post("/assign", json={"case": "SYN-9999"}).status_code == 404
        assert (
            admin.post("/reassign", json={"case": "SYN-0003", "practitioner": "nobody"}).status_code
            == 400
        )
        cases = {c["case"]: c for c in admin.get("/cases").json()}
        assert cases["SYN-0002"]["owner"] == "Practitioner/spec-2"


def test_admin_needs_its_token(server: RunningServer) -> None:
    assert httpx.get(f"{server.base_url}/admin/cases").status_code == 401
    with api_client(server) as api:
        # A specialist's token is not the admin token.
        response = httpx.get(
            f"{server.base_url}/admin/cases",
            headers={"Authorization": api.headers["authorization"]},
        )
        assert response.status_code == 401


def test_reset_forgets_changes(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        admin.post("/withdraw", json={"case": "SYN-0001"}).raise_for_status()
        admin.post("/reset").raise_for_status()
        assert _owned(api) == {"syn-0001-task": "requested", "syn-0002-task": "requested"}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "demo_server", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_cli_admin_commands(fresh_server: RunningServer) -> None:
    env = {
        "DEMO_SERVER_URL": fresh_server.base_url,
        "DEMO_SERVER_ADMIN_TOKEN": fresh_server.admin_token,
    }
    done = _cli("reassign", "SYN-0001", "--to", "spec-2", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["owner"] == "Practitioner/spec-2"
    assert _cli("withdraw", "SYN-0002", env=env).returncode == 0
    failed = _cli("assign", "SYN-0001", env=env)
    assert failed.returncode == 1
    assert _cli("fault", "--latency-ms", "5", "--path", "^/fhir/Binary", env=env).returncode == 0
    assert fresh_server.app.faults.describe()[0]["path"] == "^/fhir/Binary"
    assert _cli("fault", "--clear", env=env).returncode == 0
    assert fresh_server.app.faults.describe() == []
    cases = {c["case"]: c for c in json.loads(_cli("cases", env=env).stdout)}
    assert cases["SYN-0001"]["owner"] == "Practitioner/spec-2"
    assert cases["SYN-0002"]["status"] == "cancelled"


def test_cli_serve_starts_and_answers(tmp_path: Path) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo_server",
            "serve",
            "--port",
            "0",
            "--cases",
            "1",
            "--ct-slices",
            "1",
            "--storage",
            str(tmp_path),
            "--admin-token",
            "t0ken",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith("FHIR base"), first
            fhir_base = first.split()[-1]
            assert fhir_base.startswith("http://127.0.0.1:")
            assert httpx.get(f"{fhir_base}/metadata").status_code == 200
            saved = json.loads((tmp_path / "admin.json").read_text())
            assert saved["admin_token"] == "t0ken"
            cases = _cli("cases", "--storage", str(tmp_path))
            assert json.loads(cases.stdout)[0]["case"] == "SYN-0001"
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0
