"""PAdES signing over the reference server's PKI: valid after signing, broken by any
changed byte in the signed range or a later content change, still valid after the later
timestamp and revocation update, and valid for an independent validator (poppler)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from demo_server.server import RunningServer
from reviewer_app.errors import CertificateRevoked, NotSignedDocument, SigningError
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import (
    Enrollment,
    HttpTimeStamper,
    SigningIdentity,
    SigningKeyStore,
    add_timestamp_and_revocation,
    enroll,
    fetch_crl,
    new_private_key,
    sign_pdf,
    verify_pdf,
)
from reviewer_app.opinion.signing import FIELD_NAME, _stamp_font
from tests.reviewer_app.opinion.helpers import PASSPHRASE, opinion_pdf


def extend(pdf: bytes, server: RunningServer, trust: list[x509.Certificate]) -> bytes:
    with httpx.Client(timeout=10) as client:
        crl = fetch_crl(client, f"{server.base_url}/crl")
        return add_timestamp_and_revocation(
            pdf,
            timestamper=HttpTimeStamper(client, f"{server.base_url}/tsa"),
            trust=trust,
            crls=[crl],
        )


@pytest.fixture(scope="module")
def extended(signed: bytes, pki_server: RunningServer, enrollment: Enrollment) -> bytes:
    return extend(signed, pki_server, list(enrollment.platform_ca))


def byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    found = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert len(found) >= 1
    a, b, c, d = (int(v) for v in found[0])
    return a, b, c, d


def sample_positions(pdf: bytes, unsigned_length: int) -> list[int]:
    """~50 offsets inside the first signature's ByteRange: spread evenly, plus the
    page content streams, the original xref and the signature revision's xref."""
    a, b, c, d = byte_range(pdf)
    inside = [(a, a + b), (c, c + d)]
    spread = [a + i * (b - 1) // 24 for i in range(25)]
    spread += [c + i * (d - 1) // 14 for i in range(15)]
    streams = [m.end() + 3 for m in re.finditer(rb"stream\r?\n", pdf[:unsigned_length])][:4]
    xrefs = [m.start() + 6 for m in re.finditer(rb"xref", pdf)]
    startxrefs = [m.end() + 1 for m in re.finditer(rb"startxref", pdf)]
    eofs = [m.start() + 1 for m in re.finditer(rb"%%EOF", pdf)]
    positions = sorted(set(spread + streams + xrefs + startxrefs + eofs))
    return [p for p in positions if any(lo <= p < hi for lo, hi in inside)]


# --- signing ---------------------------------------------------------------------------


def test_signed_opinion_verifies(signed: bytes, unsigned: bytes, enrollment: Enrollment) -> None:
    assert signed.startswith(unsigned), "signing must append, never rewrite"
    report = verify_pdf(signed, list(enrollment.platform_ca))
    assert report.ok, report.reason
    (check,) = report.checks
    assert check.field == FIELD_NAME
    assert check.kind == "signature"
    assert check.signer == "Dr Demo Specialist"
    assert check.intact and check.valid and check.trusted and not check.revoked
    assert check.modification == "NONE"
    assert check.signing_time is not None
    assert abs(datetime.now(UTC) - check.signing_time) < timedelta(minutes=10)


def test_signature_is_pades_with_a_visible_block(signed: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed))
    (sig,) = reader.embedded_signatures
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    # PAdES B-B: the time is in /M, not a CMS signing-time attribute.
    assert "/M" in sig.sig_object
    signed_attrs = sig.signer_info["signed_attrs"].native
    assert all(attr["type"] != "signing_time" for attr in signed_attrs)
    widget = sig.sig_field
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    assert x2 - x1 > 100 and y2 - y1 > 40
    last_page = reader.root["/Pages"]["/Kids"][-1]
    assert widget["/P"].get_object() == last_page.get_object()
    text = appearance_text(widget["/AP"]["/N"].get_object())
    for expected in ("Dr Demo Specialist", "MD, FRCR, Consultant", "SYN-LIC-70001"):
        assert expected.encode() in text
    assert datetime.now(UTC).strftime("%Y-%m-%d").encode() in text or (
        (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d").encode() in text
    )


def appearance_text(stream: generic.StreamObject) -> bytes:
    """The content of an appearance stream and of every form XObject it draws, with the
    octal escapes of PDF string literals (``\\056`` for ``.``) undone."""
    data = stream.data
    resources = stream.get("/Resources")
    if resources is not None:
        for xobject in resources.get_object().get("/XObject", {}).values():
            data += appearance_text(xobject.get_object())
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), data)


def test_signing_a_signed_opinion_is_refused(signed: bytes, key_store: SigningKeyStore) -> None:
    with pytest.raises(SigningError, match="already signed"):
        sign_pdf(signed, key_store.unlock(PASSPHRASE))


def test_signing_something_else_is_refused(key_store: SigningKeyStore) -> None:
    with pytest.raises(SigningError):
        sign_pdf(b"%PDF-1.7\nnot really", key_store.unlock(PASSPHRASE))


def test_sign_after_re_authentication(key_store: SigningKeyStore, enrollment: Enrollment) -> None:
    signed = sign_pdf(opinion_pdf(1), key_store.unlock(PASSPHRASE))
    assert verify_pdf(signed, list(enrollment.platform_ca)).ok


def self_signed_identity(common_name: str) -> SigningIdentity:
    key = new_private_key()
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return SigningIdentity(key, (cert,))


@pytest.mark.skipif(
    _stamp_font("Łukasz Żółć") is None, reason="no OpenType font for the block here"
)
def test_names_beyond_latin1_get_an_embedded_font() -> None:
    signed = sign_pdf(opinion_pdf(1), self_signed_identity("Dr Łukasz Żółć"))
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    fonts = []

    def collect(stream: generic.StreamObject) -> None:
        resources = stream.get("/Resources")
        if resources is None:
            return
        resources = resources.get_object()
        fonts.extend(f.get_object() for f in resources.get("/Font", {}).values())
        for xobject in resources.get("/XObject", {}).values():
            collect(xobject.get_object())

    collect(sig.sig_field["/AP"]["/N"].get_object())
    assert fonts and all(font["/Subtype"] == "/Type0" for font in fonts)
    assert all("/ToUnicode" in font for font in fonts)


def test_a_name_no_font_can_draw_is_refused_not_dropped() -> None:
    # Phoenician: in no font this machine has, so never silently left out of the block.
    with pytest.raises(SigningError, match="font"):
        sign_pdf(opinion_pdf(1), self_signed_identity("Dr \U00010900\U00010901"))


# --- tampering ------------------------------------------------------------------------


def test_any_changed_byte_in_the_signed_range_fails(
    signed: bytes, unsigned: bytes, enrollment: Enrollment
) -> None:
    trust = list(enrollment.platform_ca)
    positions = sample_positions(signed, len(unsigned))
    assert len(positions) >= 45
    a, b, c, _ = byte_range(signed)
    assert any(p < a + b for p in positions) and any(p >= c for p in positions)
    for position in positions:
        tampered = bytearray(signed)
        tampered[position] ^= 0x01
        report = verify_pdf(bytes(tampered), trust)
        assert not report.ok, f"byte {position} changed, still valid"
        assert report.reason


def test_a_later_content_change_is_reported(signed: bytes, enrollment: Enrollment) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    added = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 400 Td (Changed later) Tj ET")
    )
    writer.add_stream_to_page(0, added)
    out = io.BytesIO()
    writer.write(out)
    changed = out.getvalue()
    assert changed.startswith(signed)
    report = verify_pdf(changed, list(enrollment.platform_ca))
    assert not report.ok
    (check,) = report.checks
    assert check.intact, "the signed revision itself is untouched"
    assert check.modification not in ("NONE", "LTA_UPDATES")
    assert "modified after signing" in report.reason


def test_bytes_appended_outside_a_revision_fail(signed: bytes, enrollment: Enrollment) -> None:
    report = verify_pdf(signed + b"\n1 0 obj\n<<>>\nendobj\n", list(enrollment.platform_ca))
    assert not report.ok
    assert report.reason == "data was appended after the last revision"


def test_untrusted_ca_fails(signed: bytes) -> None:
    report = verify_pdf(signed, [])
    assert not report.ok and "platform CA" in report.reason
    other_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Another CA")])
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(other_key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(other_key, hashes.SHA256())
    )
    report = verify_pdf(signed, [other])
    assert not report.ok
    assert not report.checks[0].trusted


def test_unsigned_and_unreadable_files_fail(unsigned: bytes) -> None:
    assert not verify_pdf(unsigned, []).ok
    assert verify_pdf(unsigned, []).reason == "the document is not signed"
    assert verify_pdf(b"GIF89a", []).reason == "not a readable PDF file"


# --- later: timestamp and revocation data ---------------------------------------------


def test_timestamp_and_revocation_keep_the_signature_valid(
    signed: bytes, extended: bytes, enrollment: Enrollment
) -> None:
    assert extended.startswith(signed), "the update must be incremental"
    report = verify_pdf(extended, list(enrollment.platform_ca))
    assert report.ok, report.reason
    signature, timestamp = report.checks
    assert signature.kind == "signature" and signature.modification == "LTA_UPDATES"
    assert timestamp.kind == "timestamp" and timestamp.signer == "Reviewer Demo Platform TSA"
    assert timestamp.trusted and timestamp.intact
    reader = PdfFileReader(io.BytesIO(extended))
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) >= 1 and len(dss["/Certs"]) >= 2


def test_extended_file_still_detects_tampering(
    extended: bytes, unsigned: bytes, enrollment: Enrollment
) -> None:
    trust = list(enrollment.platform_ca)
    for position in sample_positions(extended, len(unsigned))[::5]:
        tampered = bytearray(extended)
        tampered[position] ^= 0x01
        assert not verify_pdf(bytes(tampered), trust).ok, position


def test_unsigned_document_cannot_be_extended(
    unsigned: bytes, pki_server: RunningServer, enrollment: Enrollment
) -> None:
    with pytest.raises(NotSignedDocument):
        extend(unsigned, pki_server, list(enrollment.platform_ca))


def test_revoked_certificate_fails_once_the_crl_is_embedded(
    pki_server: RunningServer, platform: PlatformSession, enrollment: Enrollment
) -> None:
    key = new_private_key()
    chain = enroll(platform, key, common_name="x").chain
    signed = sign_pdf(opinion_pdf(1), SigningIdentity(key, chain))
    trust = list(enrollment.platform_ca)
    assert verify_pdf(signed, trust).ok
    pki_server.app.ca.revoke(chain[0].serial_number)
    with httpx.Client(timeout=10) as client:
        crl = fetch_crl(client, f"{pki_server.base_url}/crl")
    with pytest.raises(CertificateRevoked):
        extend(signed, pki_server, trust)
    assert x509.load_der_x509_crl(crl).get_revoked_certificate_by_serial_number(
        chain[0].serial_number
    )


# --- an independent validator: poppler's pdfsig -----------------------------------------


def pdfsig(path: Path, *args: str) -> str:
    result = subprocess.run(
        ["pdfsig", *args, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout + result.stderr


def first_signature(output: str) -> str:
    return output.split("Signature #2", maxsplit=1)[0]


@pytest.mark.parametrize("which", ["signed", "extended"])
def test_pdfsig_reports_the_signature_valid(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    path = tmp_path / f"{which}.pdf"
    path.write_bytes(request.getfixturevalue(which))
    output = first_signature(pdfsig(path))
    assert "Signature Validation: Signature is Valid." in output
    assert "Signer Certificate Common Name: Dr Demo Specialist" in output


@pytest.mark.skipif(shutil.which("certutil") is None, reason="needs certutil (libnss3-tools)")
def test_pdfsig_trusts_the_platform_ca_and_sees_tampering(
    extended: bytes, enrollment: Enrollment, tmp_path: Path
) -> None:
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    root = tmp_path / "ca.der"
    root.write_bytes(enrollment.platform_ca[0].public_bytes(serialization.Encoding.DER))
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{nss}",
            "-n",
            "platform-ca",
            "-t",
            "CT,C,C",
            "-i",
            str(root),
        ],
        check=True,
    )
    path = tmp_path / "extended.pdf"
    path.write_bytes(extended)
    output = first_signature(pdfsig(path, "-nssdir", f"sql:{nss}"))
    assert "Signature Validation: Signature is Valid." in output
    assert "Certificate Validation: Certificate is Trusted." in output
    a, b, _, _ = byte_range(extended)
    tampered = bytearray(extended)
    tampered[a + b // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    output = first_signature(pdfsig(path, "-nssdir", f"sql:{nss}"))
    assert "Signature Validation: Signature is Valid." not in output
