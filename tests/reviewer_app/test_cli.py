"""The ``reviewer-app`` CLI, run as a real subprocess (``python -m reviewer_app``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer_app import cli
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile
from reviewer_app.vault.migrations import LATEST_VERSION
from tests.cli import run_cli

PASSPHRASE = "correct horse battery staple"
CHEAP = ScryptParams(n=2**10, r=8, p=1)
MARKER = "ZZQX-Marker-Patient-Kowalczyk-0815"


@pytest.fixture
def cheap_profile(tmp_path: Path) -> Profile:
    """A passphrase-mode profile (cheap KDF) with a marked case and object in it."""
    profile = Profile(tmp_path / "profile")
    with create_profile(
        profile, PASSPHRASE, key_source=KeySource.PASSPHRASE, scrypt=CHEAP
    ) as vault:
        vault.write_sync(
            lambda c: c.execute(
                "INSERT INTO cases (case_id, patient_name) VALUES ('c1', ?)", (MARKER,)
            )
        )
        vault.objects.put(MARKER.encode() * 100, kind="pdf")
        vault.objects.put(b"second object", kind="pdf")
    return profile


def test_help_explains_commands_location_and_exit_codes() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    text = out.stdout
    assert "--profile DIR" in text
    assert "where the profile lives" in text
    assert str(Profile.default().root) in text
    for code in ("0    done", "1    unexpected", "2    Reviewer could not", "130  interrupted"):
        assert code in text
    assert "profile" in text
    sub = run_cli("profile", "--help")
    assert sub.returncode == 0
    for command in ("init", "check", "info", "reset"):
        assert command in sub.stdout
    init_help = run_cli("profile", "init", "--help")
    assert "--passphrase-only" in init_help.stdout
    assert "--passphrase-stdin" in init_help.stdout


def test_no_command_prints_help_and_fails() -> None:
    out = run_cli()
    assert out.returncode == 2
    assert "usage:" in out.stderr
    group = run_cli("profile")
    assert group.returncode == 2
    assert "init" in group.stderr


def test_init_passphrase_only_then_info_check_reset(tmp_path: Path) -> None:
    """The real KDF cost, end to end through the CLI."""
    folder = tmp_path / "profile"
    init = run_cli(
        "--profile",
        str(folder),
        "profile",
        "init",
        "--passphrase-only",
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert init.returncode == 0, init.stderr
    assert "Created a new profile" in init.stdout
    assert json.loads((folder / "profile.json").read_text())["key_source"] == "passphrase"

    again = run_cli(
        "--profile",
        str(folder),
        "profile",
        "init",
        "--passphrase-only",
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert again.returncode == 2
    assert "already exists" in again.stderr

    info = run_cli(
        "--profile", str(folder), "profile", "info", "--passphrase-stdin", stdin=PASSPHRASE + "\n"
    )
    assert info.returncode == 0, info.stderr
    assert f"Schema version:  {LATEST_VERSION}" in info.stdout

    wrong = run_cli(
        "--profile", str(folder), "profile", "check", "--passphrase-stdin", stdin="nope nope\n"
    )
    assert wrong.returncode == 2
    assert "passphrase is not correct" in wrong.stderr

    refused = run_cli("--profile", str(folder), "profile", "reset")
    assert refused.returncode == 2
    assert "--yes-erase-local-data" in refused.stderr
    assert folder.exists()

    reset = run_cli("--profile", str(folder), "profile", "reset", "--yes-erase-local-data")
    assert reset.returncode == 0, reset.stderr
    assert not folder.exists()


def test_info_shows_counts_but_no_patient_data(cheap_profile: Profile) -> None:
    out = run_cli(
        "--profile",
        str(cheap_profile.root),
        "profile",
        "info",
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert f"Profile folder:  {cheap_profile.root}" in out.stdout
    assert "Cases:           1" in out.stdout
    assert "Encrypted files: 2" in out.stdout
    assert "passphrase" in out.stdout
    assert MARKER not in out.stdout + out.stderr
    assert "Kowalczyk" not in out.stdout + out.stderr


def test_check_healthy(cheap_profile: Profile) -> None:
    out = run_cli(
        "--profile",
        str(cheap_profile.root),
        "profile",
        "check",
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert "all 2 decrypt" in out.stdout
    assert "Verdict: healthy" in out.stdout


def test_check_damaged_database(cheap_profile: Profile) -> None:
    db = cheap_profile.db_path
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek((size // 4096 // 2) * 4096 + 64)
        f.write(os.urandom(64))
    out = run_cli(
        "--profile",
        str(cheap_profile.root),
        "profile",
        "check",
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert out.returncode == 2
    assert "The vault database is damaged." in out.stderr
    assert "Verdict: healthy" not in out.stdout


def test_check_damaged_object(cheap_profile: Profile) -> None:
    victim = next(cheap_profile.objects_dir.glob("*/*"))
    raw = bytearray(victim.read_bytes())
    raw[-20] ^= 0xFF
    victim.write_bytes(bytes(raw))
    out = run_cli(
        "--profile",
        str(cheap_profile.root),
        "profile",
        "check",
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert out.returncode == 2
    assert f"Encrypted file {victim.name}:" in out.stdout
    assert "1 of 2 encrypted files in the vault are damaged" in out.stderr


def test_missing_profile(tmp_path: Path) -> None:
    out = run_cli("--profile", str(tmp_path / "none"), "profile", "info")
    assert out.returncode == 2
    assert "There is no Reviewer profile in this folder." in out.stderr
    assert "profile init" in out.stderr


def test_unexpected_error_is_short_and_has_no_details(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import reviewer_app.vault.cli as profile_cli

    def explode(_args: object) -> int:
        raise RuntimeError(f"could not parse record of {MARKER}")

    monkeypatch.setattr(profile_cli, "run_info", explode)
    code = cli.main(["--profile", str(tmp_path), "profile", "info"])
    err = capsys.readouterr().err
    assert code == 1
    assert "RuntimeError" in err
    assert MARKER not in err


@pytest.mark.keyring
@pytest.mark.skipif(
    not os.environ.get("REVIEWER_SECRET_SERVICE"),
    reason="needs the isolated Secret Service that ./dev test starts",
)
def test_init_with_keyring_and_reset(tmp_path: Path) -> None:
    import keyring

    folder = tmp_path / "profile"
    init = run_cli(
        "--profile", str(folder), "profile", "init", "--passphrase-stdin", stdin=PASSPHRASE + "\n"
    )
    assert init.returncode == 0, init.stderr
    assert "system keyring" in init.stdout
    profile_id = json.loads((folder / "profile.json").read_text())["profile_id"]
    assert keyring.get_password("Reviewer", f"vault-key:{profile_id}") is not None
    info = run_cli("--profile", str(folder), "profile", "info")  # no passphrase needed
    assert info.returncode == 0, info.stderr
    assert "Key kept in:     system keyring" in info.stdout
    reset = run_cli("--profile", str(folder), "profile", "reset", "--yes-erase-local-data")
    assert reset.returncode == 0, reset.stderr
    assert "removed from the system keyring" in reset.stdout
    assert keyring.get_password("Reviewer", f"vault-key:{profile_id}") is None


@pytest.mark.skipif(
    shutil.which("reviewer-app") is None
    and not (Path(sys.executable).parent / "reviewer-app").exists(),
    reason="console script not installed",
)
def test_console_script_runs() -> None:
    script = shutil.which("reviewer-app") or str(Path(sys.executable).parent / "reviewer-app")
    out = subprocess.run(
        [script, "--version"], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert out.stdout.startswith("Reviewer ")
