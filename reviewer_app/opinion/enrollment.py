"""Certificate enrollment with the platform (EST, RFC 7030; docs/exchange.md §10).

Only the certificate signing request travels: the private key is made here and stays
here. The platform answers with the signer's certificate; its CA certificates come from
``cacerts`` and are kept as the trust anchor for ``reviewer-app verify``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from reviewer_app.errors import EnrollmentFailed, InsecureServerAddress, MalformedServerData
from reviewer_app.exchange.http import (
    check_server_url,
    check_status,
    make_client,
    read_json,
    translate_errors,
)
from reviewer_app.exchange.session import PlatformSession
from reviewer_app.opinion.keys import PrivateKey, check_chain, make_csr

_MAX_DISCOVERY = 1024 * 1024
_MAX_CERTS = 256 * 1024


@dataclass(frozen=True)
class PlatformPki:
    """Where the platform enrolls certificates, stamps time and publishes revocations."""

    est: str
    tsa: str | None
    crl: str | None


@dataclass(frozen=True)
class Enrollment:
    """What enrollment brings back: the chain (signer first) and the platform's CA."""

    chain: tuple[x509.Certificate, ...]
    platform_ca: tuple[x509.Certificate, ...]


def discover_pki(client: httpx.Client, fhir_base: str) -> PlatformPki:
    """Read ``est_endpoint``, ``tsa_endpoint``, ``crl_endpoint`` from the SMART
    configuration; without ``est_endpoint`` the contract's default under the issuer."""
    url = fhir_base.rstrip("/") + "/.well-known/smart-configuration"
    with translate_errors(), client.stream("GET", url) as response:
        check_status(response)
        data = read_json(response, "SMART configuration", _MAX_DISCOVERY)

    def address(name: str) -> str | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise MalformedServerData("SMART configuration", name, "not a URL")
        try:
            return check_server_url(value.rstrip("/"))
        except InsecureServerAddress as exc:
            raise MalformedServerData("SMART configuration", name, "not an https URL") from exc

    est = address("est_endpoint")
    if est is None:
        issuer = address("issuer")
        if issuer is None:
            raise MalformedServerData("SMART configuration", "est_endpoint", "missing")
        est = issuer + "/.well-known/est"
    return PlatformPki(est=est, tsa=address("tsa_endpoint"), crl=address("crl_endpoint"))


def _read_certs_only(response: httpx.Response, what: str) -> list[x509.Certificate]:
    """An RFC 7030 certs-only answer: base64 of a degenerate CMS SignedData."""
    body = response.read()
    if len(body) > _MAX_CERTS:
        raise MalformedServerData(what, "body", "too large")
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
        certs = pkcs7.load_der_pkcs7_certificates(der)
    except (binascii.Error, ValueError) as exc:
        raise MalformedServerData(what, "body", "not a base64 certs-only CMS") from exc
    if not certs:
        raise MalformedServerData(what, "body", "no certificate")
    return certs


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # InvalidSignature is not a ValueError
        return False
    return True


def fetch_ca_certs(client: httpx.Client, pki: PlatformPki) -> list[x509.Certificate]:
    """``GET {est}/cacerts``: the platform's CA certificates (no token needed)."""
    with translate_errors():
        response = client.get(pki.est + "/cacerts")
        check_status(response)
        return _read_certs_only(response, "CA certificates")


def enroll(
    session: PlatformSession,
    key: PrivateKey,
    *,
    common_name: str,
    pki: PlatformPki | None = None,
) -> Enrollment:
    """Send a CSR for ``key`` to the platform and return the issued chain.

    The request carries the bearer token of ``session`` (the platform takes the
    certificate's subject from the signed-in account). Nothing is stored here: the
    caller keeps the result with :meth:`SigningKeyStore.store`.
    """
    csr = make_csr(key, common_name)
    with (
        make_client(session.settings) as plain,
        make_client(session.settings, auth=session.auth) as api,
    ):
        pki = pki or discover_pki(plain, session.fhir_base)
        with translate_errors():
            response = api.post(
                pki.est + "/simpleenroll",
                content=base64.encodebytes(csr),
                headers={
                    "Content-Type": "application/pkcs10",
                    "Content-Transfer-Encoding": "base64",
                },
            )
        if response.status_code in (400, 403):
            raise EnrollmentFailed(
                f"The platform refused the request (HTTP {response.status_code})."
            )
        check_status(response)
        issued = _read_certs_only(response, "enrolled certificate")
        ca = fetch_ca_certs(plain, pki)
    leaf = issued[0]
    chain = [leaf]
    # Append issuers from the answer and cacerts until a self-signed one.
    pool = issued[1:] + ca
    while not _issued_by(chain[-1], chain[-1]):
        parent = next((c for c in pool if c not in chain and _issued_by(chain[-1], c)), None)
        if parent is None:
            raise EnrollmentFailed("The platform's certificate does not chain to its CA.")
        chain.append(parent)
    check_chain(key, chain)
    return Enrollment(chain=tuple(chain), platform_ca=tuple(c for c in ca if _issued_by(c, c)))
