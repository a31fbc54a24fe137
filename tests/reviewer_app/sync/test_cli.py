"""``reviewer-app sync`` and ``reviewer-app cases`` on a passphrase profile."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from demo_server.server import RunningServer
from reviewer_app.cli import build_parser, main
from reviewer_app.exchange import MemoryTokenStore
from reviewer_app.sync.cli import EXIT_INCOMPLETE, run_sync
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile
from tests.reviewer_app.sync.helpers import PASSPHRASE, admin, demo_browser


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    root = tmp_path / "profile"
    create_profile(
        Profile(root),
        PASSPHRASE,
        key_source=KeySource.PASSPHRASE,
        scrypt=ScryptParams(n=2**10, r=8, p=1),
    ).close()
    return root


def _stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSPHRASE + "\n"))


def test_sync_then_cases(
    server: RunningServer,
    profile: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _stdin(monkeypatch)
    args = build_parser().parse_args(
        ["--profile", str(profile), "sync", "--server", server.fhir_base, "--passphrase-stdin"]
    )
    store = MemoryTokenStore()
    assert run_sync(args, token_store=store, open_browser=demo_browser()) == 0
    out = capsys.readouterr().out
    assert "Signing in" in out
    assert "metadata: 3 to fetch" in out
    assert "imaging:" in out
    assert "Sync complete: 3 cases" in out
    assert "Testpatient" not in out

    _stdin(monkeypatch)
    assert main(["--profile", str(profile), "cases", "--passphrase-stdin"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["case", "state", "offline", "missing", "disk", "pin"]
    rows = sorted(line.split()[:4] for line in lines[1:])
    assert rows == [[f"SYN-000{i}", "complete", "ready", "0"] for i in (1, 2, 3)]

    # A later sync is silent (the tokens were kept) and exits 3 when an item fails.
    doc = server.app.store.get("DocumentReference", "syn-0001-doc-1")
    assert doc is not None
    doc["content"][0]["attachment"]["hash"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    server.app.store.put(doc)
    with admin(server) as staff:
        staff.post("/touch", json={"case": "SYN-0001"}).raise_for_status()
    _stdin(monkeypatch)
    assert run_sync(args, token_store=store, open_browser=demo_browser("nobody")) == EXIT_INCOMPLETE
    out = capsys.readouterr().out
    assert "Signing in" not in out
    assert "syn-0001-task syn-0001-doc-1: A downloaded file does not match its checksum" in out
    assert "Sync incomplete" in out

    _stdin(monkeypatch)
    assert main(["--profile", str(profile), "cases", "--passphrase-stdin"]) == 0
    out = capsys.readouterr().out
    assert "SYN-0001     errors    not ready        1" in out
    assert "    syn-0001-doc-1: A downloaded file does not match its checksum" in out


def test_cases_on_an_empty_profile(
    profile: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch)
    assert main(["--profile", str(profile), "cases", "--passphrase-stdin"]) == 0
    assert capsys.readouterr().out == "No cases in this profile.\n"
