"""The opinion's signing core (Qt-free): keys, enrollment, PAdES signing, verification.

Modules: ``keys`` (the key pair made here, wrapped in the vault under the passphrase;
PKCS#12 import), ``enrollment`` (EST enrollment with the platform), ``signing`` (PAdES B-B
with a visible block; later timestamp and CRLs as incremental updates), ``verify``
(signer, time, integrity, trust, modification level), ``cli`` (``reviewer-app verify``).

The names below load their module on first use (PEP 562): pyHanko takes about half a
second to import, and every ``reviewer-app`` command would otherwise pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewer_app.opinion.enrollment import Enrollment, PlatformPki, discover_pki, enroll
    from reviewer_app.opinion.keys import (
        SignerInfo,
        SigningIdentity,
        SigningKeyStore,
        make_csr,
        new_private_key,
        signer_info,
    )
    from reviewer_app.opinion.signing import (
        HttpTimeStamper,
        Placement,
        add_timestamp_and_revocation,
        fetch_crl,
        sign_pdf,
    )
    from reviewer_app.opinion.verify import (
        SignatureCheck,
        VerifyReport,
        format_report,
        verify_pdf,
    )

_WHERE = {
    "Enrollment": "enrollment",
    "PlatformPki": "enrollment",
    "discover_pki": "enrollment",
    "enroll": "enrollment",
    "SignerInfo": "keys",
    "SigningIdentity": "keys",
    "SigningKeyStore": "keys",
    "make_csr": "keys",
    "new_private_key": "keys",
    "signer_info": "keys",
    "HttpTimeStamper": "signing",
    "Placement": "signing",
    "add_timestamp_and_revocation": "signing",
    "fetch_crl": "signing",
    "sign_pdf": "signing",
    "SignatureCheck": "verify",
    "VerifyReport": "verify",
    "format_report": "verify",
    "verify_pdf": "verify",
}

__all__ = [
    "Enrollment",
    "HttpTimeStamper",
    "Placement",
    "PlatformPki",
    "SignatureCheck",
    "SignerInfo",
    "SigningIdentity",
    "SigningKeyStore",
    "VerifyReport",
    "add_timestamp_and_revocation",
    "discover_pki",
    "enroll",
    "fetch_crl",
    "format_report",
    "make_csr",
    "new_private_key",
    "sign_pdf",
    "signer_info",
    "verify_pdf",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
