"""Checking a signed PDF: signer, signing time, integrity, trust, modification level.

Built on pyHanko's validators. A document passes only when every signature and
document timestamp in it is intact (the signed bytes hash to the signed digest), valid
(the CMS signature verifies), trusted (its chain ends at the platform CA) and nothing
changed after it except validation data and timestamps (modification level ``NONE`` or
``LTA_UPDATES``). Revocation is checked against the CRLs embedded in the document when
there are any; offline, a missing CRL does not fail a B-B signature (soft-fail).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko.sign.validation.status import ModificationInfo, SignatureStatus
from pyhanko_certvalidator import ValidationContext

from reviewer_app.opinion.signing import to_asn1

ACCEPTED_LEVELS = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)


@dataclass(frozen=True)
class SignatureCheck:
    """One signature (or document timestamp) and what was found about it."""

    field: str
    kind: str  # "signature" | "timestamp"
    signer: str
    signing_time: datetime | None
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    modification: str
    problem: str | None

    @property
    def ok(self) -> bool:
        """Valid, intact, trusted and unchanged."""
        return self.problem is None


@dataclass(frozen=True)
class VerifyReport:
    """Every signature of a document; ``ok`` only if there is one and all pass."""

    checks: tuple[SignatureCheck, ...]
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Exit 0 of ``reviewer-app verify``."""
        return self.problem is None and bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def reason(self) -> str:
        """One line saying why the document fails (empty when it passes)."""
        if self.problem:
            return self.problem
        if not self.checks:
            return "the document is not signed"
        failing = next((c for c in self.checks if not c.ok), None)
        return "" if failing is None else f"{failing.field}: {failing.problem}"


def _signer_name(status: SignatureStatus) -> str:
    subject = status.signing_cert.subject.native
    return str(subject.get("common_name") or status.signing_cert.subject.human_friendly)


def _problem(
    status: SignatureStatus, modification: ModificationInfo, has_trust: bool
) -> str | None:
    if not status.intact:
        return "the signed content was changed (integrity check failed)"
    if not status.valid:
        return "the cryptographic signature does not verify"
    if status.revoked:
        return "the signer's certificate is revoked"
    if not has_trust:
        return "no platform CA to check trust against (use --trust CA.pem)"
    if not status.trusted:
        return "the signer's certificate does not chain to the platform CA"
    level = modification.modification_level
    if level not in ACCEPTED_LEVELS:
        name = level.name if level is not None else "unknown"
        return f"the document was modified after signing (modification level {name})"
    if modification.docmdp_ok is False:
        return "the document was modified in a way the signature forbids"
    return None


def _context(trust: Sequence[x509.Certificate], reader: PdfFileReader) -> ValidationContext:
    settings: dict[str, Any] = {
        "trust_roots": [to_asn1(c) for c in trust],
        "allow_fetching": False,
        "revocation_mode": "soft-fail",
    }
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return ValidationContext(**settings)
    return dss.as_validation_context(settings)


def verify_pdf(data: bytes, trust: Sequence[x509.Certificate]) -> VerifyReport:
    """Check every signature of ``data`` against the CA certificates in ``trust``."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception:
        return VerifyReport((), "not a readable PDF file")
    checks = []
    for sig in embedded:
        try:
            context = _context(trust, reader)
            if sig.sig_object_type == "/DocTimeStamp":
                ts = validate_pdf_timestamp(sig, validation_context=context)
                checks.append(
                    SignatureCheck(
                        field=sig.field_name,
                        kind="timestamp",
                        signer=_signer_name(ts),
                        signing_time=ts.timestamp,
                        intact=ts.intact,
                        valid=ts.valid,
                        trusted=ts.trusted,
                        revoked=ts.revoked,
                        modification=_level(ts),
                        problem=_problem(ts, ts, bool(trust)),
                    )
                )
                continue
            status = validate_pdf_signature(
                sig, signer_validation_context=context, ts_validation_context=context
            )
        except Exception as exc:
            # A damaged signature dictionary or CMS blob: pyHanko raises from deep inside.
            checks.append(
                SignatureCheck(
                    field=_field_name(sig),
                    kind="signature",
                    signer="?",
                    signing_time=None,
                    intact=False,
                    valid=False,
                    trusted=False,
                    revoked=False,
                    modification="unknown",
                    problem=f"the signature cannot be read ({type(exc).__name__})",
                )
            )
            continue
        when = status.signer_reported_dt
        if status.timestamp_validity is not None:
            when = status.timestamp_validity.timestamp
        checks.append(
            SignatureCheck(
                field=sig.field_name,
                kind="signature",
                signer=_signer_name(status),
                signing_time=when,
                intact=status.intact,
                valid=status.valid,
                trusted=status.trusted,
                revoked=status.revoked,
                modification=_level(status),
                problem=_problem(status, status, bool(trust)),
            )
        )
    if checks and not data.rstrip().endswith(b"%%EOF"):
        # Not a revision pyHanko's diff analysis can judge: refuse rather than ignore.
        return VerifyReport(tuple(checks), "data was appended after the last revision")
    return VerifyReport(tuple(checks))


def _field_name(sig: object) -> str:
    try:
        return str(getattr(sig, "field_name", "?"))
    except Exception:
        return "?"


def _level(info: ModificationInfo) -> str:
    level = info.modification_level
    return level.name if level is not None else "unknown"


def format_report(report: VerifyReport) -> str:
    """The text ``reviewer-app verify`` prints."""
    lines = []
    for check in report.checks:
        when = check.signing_time.isoformat(timespec="seconds") if check.signing_time else "-"
        lines += [
            f"{check.kind} {check.field}",
            f"  signer:        {check.signer}",
            f"  signing time:  {when}",
            f"  integrity:     {'intact' if check.intact else 'BROKEN'}"
            f"{'' if check.valid else ' (signature does not verify)'}",
            f"  trust:         {'trusted (platform CA)' if check.trusted else 'NOT trusted'}"
            f"{' (REVOKED)' if check.revoked else ''}",
            f"  modification:  {check.modification}",
        ]
    lines.append("result: valid" if report.ok else f"result: NOT valid: {report.reason}")
    return "\n".join(lines)
