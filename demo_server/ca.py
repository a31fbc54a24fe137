"""The platform's certificate authority: enrollment of signing certificates (EST, RFC 7030),
the CA certificates, a certificate revocation list and an RFC 3161 timestamp authority.

A real X.509 CA made with ``cryptography``: one self-signed root (EC P-256) that issues
the specialists' signing certificates (keyUsage digitalSignature + nonRepudiation) and
the TSA certificate (RSA, because pyHanko's ``DummyTimeStamper`` signs with RSA only).
The keys live in clear in the server's storage folder: this is a reference server for
development and tests, not a production CA. See docs/exchange.md §10.

Endpoints (routed by ``server``):

* ``GET  /.well-known/est/cacerts``      certs-only CMS, base64 (no token)
* ``POST /.well-known/est/simpleenroll`` PKCS#10 CSR, base64 DER (bearer token)
* ``GET  /crl``                          DER CRL, fresh on every request (no token)
* ``POST /tsa``                          RFC 3161 ``TimeStampReq`` → ``TimeStampResp``
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from demo_server.accounts import ACCOUNTS, Account
from demo_server.reply import HttpError, Reply

#: RFC 9336 id-kp-documentSigning.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
CA_NAME = "Reviewer Demo Platform CA"
TSA_NAME = "Reviewer Demo Platform TSA"
ORGANISATION = "Reviewer demo platform (synthetic)"
ROOT_YEARS = 10
SIGNER_DAYS = 730
TSA_YEARS = 5
CRL_HOURS = 24
#: Largest CSR accepted (a P-384 or RSA-4096 CSR is well under 2 KiB).
MAX_CSR = 16 * 1024

PKCS7_CERTS = "application/pkcs7-mime; smime-type=certs-only"


def _now() -> datetime:
    return datetime.now(UTC)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certs_only(certs: list[x509.Certificate]) -> Reply:
    """RFC 7030 §4.1.3 / §4.2.3: a degenerate certs-only CMS, base64 encoded."""
    der = pkcs7.serialize_certificates(certs, serialization.Encoding.DER)
    return Reply(
        200,
        {"Content-Type": PKCS7_CERTS, "Content-Transfer-Encoding": "base64"},
        base64.encodebytes(der),
    )


class CertificateAuthority:
    """The CA of one server storage: created on first use, kept across restarts."""

    def __init__(self, folder: Path, base_url: str) -> None:
        self.folder = folder
        self.base_url = base_url
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "root.pem").exists():
            self._create()
        self.root_key = self._load_key("root-key.pem")
        self.root = x509.load_pem_x509_certificate((folder / "root.pem").read_bytes())
        self.tsa_key = self._load_key("tsa-key.pem")
        self.tsa_cert = x509.load_pem_x509_certificate((folder / "tsa.pem").read_bytes())
        self._timestamper: Any = None

    def _tsa(self) -> Any:
        """pyHanko's TSA responder with our TSA key, made at the first request: pyHanko
        takes a third of a second to import, which every server start would pay."""
        with self._lock:
            if self._timestamper is None:
                from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

                self._timestamper = DummyTimeStamper(
                    tsa_cert=asn1_x509.Certificate.load(
                        self.tsa_cert.public_bytes(serialization.Encoding.DER)
                    ),
                    tsa_key=asn1_keys.PrivateKeyInfo.load(
                        self.tsa_key.private_bytes(
                            serialization.Encoding.DER,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption(),
                        )
                    ),
                    certs_to_embed=[
                        asn1_x509.Certificate.load(
                            self.root.public_bytes(serialization.Encoding.DER)
                        )
                    ],
                )
            return self._timestamper

    # --- storage ------------------------------------------------------------------------

    def _load_key(self, name: str) -> Any:
        return serialization.load_pem_private_key((self.folder / name).read_bytes(), None)

    def _write(self, name: str, data: bytes) -> None:
        path = self.folder / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o600)
        tmp.replace(path)

    def _registry(self) -> dict[str, Any]:
        path = self.folder / "issued.json"
        if not path.exists():
            return {"issued": {}, "revoked": {}, "crl_number": 0}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def _save_registry(self, data: dict[str, Any]) -> None:
        self._write("issued.json", json.dumps(data, indent=1).encode())

    def _create(self) -> None:
        now = _now()
        root_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            ]
        )
        root = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
            )
            .sign(root_key, hashes.SHA256())
        )
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa = (
            self._issuer_builder(root, root_key, tsa_key.public_key(), now)
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, TSA_NAME),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                    ]
                )
            )
            .not_valid_after(now + timedelta(days=365 * TSA_YEARS))
            .add_extension(_key_usage(), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .sign(root_key, hashes.SHA256())
        )
        self._write("root-key.pem", _key_pem(root_key))
        self._write("tsa-key.pem", _key_pem(tsa_key))
        self._write("tsa.pem", _pem(tsa))
        # root.pem last: its presence marks a complete CA.
        self._write("root.pem", _pem(root))

    def _issuer_builder(
        self,
        root: x509.Certificate,
        root_key: ec.EllipticCurvePrivateKey,
        public_key: Any,
        now: datetime,
    ) -> x509.CertificateBuilder:
        """The parts every issued certificate shares."""
        return (
            x509.CertificateBuilder()
            .issuer_name(root.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(f"{self.base_url}/crl")],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
        )

    # --- what the routes call -----------------------------------------------------------

    def discovery(self) -> dict[str, str]:
        """Keys added to the SMART configuration document."""
        return {
            "est_endpoint": f"{self.base_url}/.well-known/est",
            "tsa_endpoint": f"{self.base_url}/tsa",
            "crl_endpoint": f"{self.base_url}/crl",
        }

    def cacerts(self) -> Reply:
        """GET /.well-known/est/cacerts."""
        return _certs_only([self.root])

    def simpleenroll(self, body: bytes, account: Account) -> Reply:
        """POST /.well-known/est/simpleenroll: a certificate for the signed-in specialist.

        The subject comes from the platform's account, never from the CSR: the CSR only
        proves possession of the key.
        """
        csr = _parse_csr(body)
        public_key = csr.public_key()
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            if public_key.curve.name not in ("secp256r1", "secp384r1"):
                raise HttpError(400, "EC keys must be on P-256 or P-384", "invalid")
        elif isinstance(public_key, rsa.RSAPublicKey):
            if public_key.key_size < 2048:
                raise HttpError(400, "RSA keys must have at least 2048 bits", "invalid")
        else:
            raise HttpError(400, "only EC and RSA keys are accepted", "invalid")
        now = _now()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, account.display),
                x509.NameAttribute(NameOID.GIVEN_NAME, account.given),
                x509.NameAttribute(NameOID.SURNAME, account.family),
                # X.520 serialNumber carries the professional licence number (as
                # ETSI EN 319 412-1 uses it for a person's identifier); title the credentials.
                x509.NameAttribute(NameOID.SERIAL_NUMBER, account.licence),
                x509.NameAttribute(NameOID.TITLE, account.credentials),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            ]
        )
        cert = (
            self._issuer_builder(self.root, self.root_key, public_key, now)
            .subject_name(subject)
            .not_valid_after(min(now + timedelta(days=SIGNER_DAYS), self.root.not_valid_after_utc))
            .add_extension(_key_usage(non_repudiation=True), critical=True)
            .add_extension(
                # emailProtection: what Adobe and NSS (poppler's pdfsig) look for on a
                # document signer; documentSigning: RFC 9336's purpose-made one.
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
                critical=False,
            )
            .sign(self.root_key, hashes.SHA256())
        )
        with self._lock:
            registry = self._registry()
            registry["issued"][format(cert.serial_number, "x")] = {
                "practitioner": account.practitioner_id,
                "issued": now.isoformat(),
            }
            self._save_registry(registry)
        return _certs_only([cert])

    def revoke(self, serial_number: int) -> None:
        """Put a certificate on the CRL (admin and tests)."""
        with self._lock:
            registry = self._registry()
            registry["revoked"][format(serial_number, "x")] = _now().isoformat()
            self._save_registry(registry)

    def crl(self) -> Reply:
        """GET /crl: a CRL signed now, valid for a day."""
        now = _now()
        with self._lock:
            registry = self._registry()
            registry["crl_number"] = int(registry["crl_number"]) + 1
            self._save_registry(registry)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root.subject)
            .last_update(now - timedelta(minutes=1))
            .next_update(now + timedelta(hours=CRL_HOURS))
            .add_extension(x509.CRLNumber(registry["crl_number"]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()),
                critical=False,
            )
        )
        for serial, when in registry["revoked"].items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial, 16))
                .revocation_date(datetime.fromisoformat(when))
                .build()
            )
        crl = builder.sign(self.root_key, hashes.SHA256())
        return Reply(
            200,
            {"Content-Type": "application/pkix-crl", "Cache-Control": "no-store"},
            crl.public_bytes(serialization.Encoding.DER),
        )

    def timestamp(self, body: bytes, content_type: str) -> Reply:
        """POST /tsa: RFC 3161 over HTTP (§3.4)."""
        if content_type.split(";", maxsplit=1)[0].strip().lower() != "application/timestamp-query":
            raise HttpError(415, "send application/timestamp-query", "not-supported")
        try:
            request = tsp.TimeStampReq.load(body)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
        except (ValueError, TypeError, KeyError) as exc:
            raise HttpError(400, "not a TimeStampReq", "invalid") from exc
        sizes = {"sha256": 32, "sha384": 48, "sha512": 64}
        if algorithm not in sizes or len(digest) != sizes[algorithm]:
            raise HttpError(400, "message imprint must be SHA-256, -384 or -512", "invalid")
        response = self._tsa().request_tsa_response(request)
        return Reply(200, {"Content-Type": "application/timestamp-reply"}, response.dump())


def _key_usage(*, non_repudiation: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _parse_csr(body: bytes) -> x509.CertificateSigningRequest:
    """RFC 7030 §4.2.1: the body is the base64 DER of a PKCS#10 request."""
    if not body or len(body) > MAX_CSR:
        raise HttpError(400, "the body must be a base64 PKCS#10 request", "invalid")
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
        csr = x509.load_der_x509_csr(der)
    except (binascii.Error, ValueError) as exc:
        raise HttpError(400, "the body must be a base64 PKCS#10 request", "invalid") from exc
    if not csr.is_signature_valid:
        raise HttpError(400, "the request's self-signature does not verify", "invalid")
    return csr


def account_for(practitioner_id: str) -> Account:
    """The demo account signed in as ``practitioner_id``."""
    for account in ACCOUNTS:
        if account.practitioner_id == practitioner_id:
            return account
    raise HttpError(403, "no specialist account for this token", "forbidden")
