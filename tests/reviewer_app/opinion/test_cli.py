"""``reviewer-app verify FILE.pdf [--trust CA.pem]`` as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from reviewer_app.opinion import Enrollment, SigningKeyStore
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile
from tests.cli import run_cli
from tests.reviewer_app.opinion.helpers import PASSPHRASE

ROOT = Path(__file__).resolve().parents[3]
CHEAP = ScryptParams(n=2**10, r=8, p=1)


def ca_file(tmp_path: Path, enrollment: Enrollment) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(enrollment.platform_ca[0].public_bytes(serialization.Encoding.PEM))
    return path


def test_verify_valid_signature(signed: bytes, enrollment: Enrollment, tmp_path: Path) -> None:
    pdf = tmp_path / "opinion.pdf"
    pdf.write_bytes(signed)
    result = run_cli("verify", str(pdf), "--trust", str(ca_file(tmp_path, enrollment)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "signer:        Dr Demo Specialist" in out
    assert "integrity:     intact" in out
    assert "trust:         trusted (platform CA)" in out
    assert "modification:  NONE" in out
    assert "signing time:  20" in out
    assert out.rstrip().endswith("result: valid")
    assert result.stderr == ""


def test_verify_tampered_file_exits_2_with_a_reason(
    signed: bytes, enrollment: Enrollment, tmp_path: Path
) -> None:
    tampered = bytearray(signed)
    tampered[len(signed) // 4] ^= 0x01
    pdf = tmp_path / "opinion.pdf"
    pdf.write_bytes(bytes(tampered))
    result = run_cli("verify", str(pdf), "--trust", str(ca_file(tmp_path, enrollment)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reviewer-app: not valid: ")


def test_verify_without_any_trust_fails(signed: bytes, tmp_path: Path) -> None:
    pdf = tmp_path / "opinion.pdf"
    pdf.write_bytes(signed)
    result = run_cli("--profile", str(tmp_path / "no-profile"), "verify", str(pdf))
    assert result.returncode == 2
    assert "no platform CA" in result.stderr
    assert "integrity:     intact" in result.stdout


def test_verify_uses_the_platform_ca_stored_in_the_profile(
    signed: bytes, enrollment: Enrollment, signing_key: object, tmp_path: Path
) -> None:
    profile = Profile(tmp_path / "profile")
    with create_profile(
        profile, PASSPHRASE, key_source=KeySource.PASSPHRASE, scrypt=CHEAP
    ) as vault:
        SigningKeyStore(vault, scrypt=CHEAP).store(
            signing_key,  # type: ignore[arg-type]
            list(enrollment.chain),
            PASSPHRASE,
            platform_ca=list(enrollment.platform_ca),
        )
    pdf = tmp_path / "opinion.pdf"
    pdf.write_bytes(signed)
    result = run_cli(
        "--profile",
        str(profile.root),
        "verify",
        str(pdf),
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "result: valid" in result.stdout


def test_verify_unreadable_trust_file(signed: bytes, tmp_path: Path) -> None:
    pdf = tmp_path / "opinion.pdf"
    pdf.write_bytes(signed)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    result = run_cli("verify", str(pdf), "--trust", str(bad))
    assert result.returncode == 2
    assert "could not be read" in result.stderr


def test_other_commands_do_not_pay_for_pyhanko() -> None:
    code = (
        "import sys; from reviewer_app.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyhanko', 'asn1crypto')))"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"
