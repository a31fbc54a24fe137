"""The reference server's certificate authority over real HTTP: EST enrollment, CA
certificates, the CRL and the RFC 3161 timestamp authority (docs/exchange.md §10).

Checked with ``cryptography`` and ``asn1crypto`` directly, not with the app's code: the
server is the other side of the contract."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from demo_server.server import RunningServer, start
from tests.demo_server.helpers import sign_in


@pytest.fixture(scope="module")
def ca_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start(cases=1, ct_slices=2, storage=tmp_path_factory.mktemp("ca-srv"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token(ca_server: RunningServer) -> str:
    return str(sign_in(ca_server.base_url)["access_token"])


def csr_body(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, name: str = "anyone") -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    return base64.encodebytes(csr.public_bytes(serialization.Encoding.DER))


def certs_only(response: httpx.Response) -> list[x509.Certificate]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pkcs7-mime")
    return pkcs7.load_der_pkcs7_certificates(base64.b64decode(response.content))


def enroll(server: RunningServer, token: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/.well-known/est/simpleenroll",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pkcs10"},
    )


def root_of(server: RunningServer) -> x509.Certificate:
    (root,) = certs_only(httpx.get(f"{server.base_url}/.well-known/est/cacerts"))
    return root


def test_discovery_announces_the_pki(ca_server: RunningServer) -> None:
    config = httpx.get(f"{ca_server.fhir_base}/.well-known/smart-configuration").json()
    assert config["est_endpoint"] == f"{ca_server.base_url}/.well-known/est"
    assert config["tsa_endpoint"] == f"{ca_server.base_url}/tsa"
    assert config["crl_endpoint"] == f"{ca_server.base_url}/crl"


def test_cacerts_is_a_self_signed_ca(ca_server: RunningServer) -> None:
    root = root_of(ca_server)
    root.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign


def test_enrollment_issues_a_signing_certificate_for_the_account(
    ca_server: RunningServer, token: str
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (cert,) = certs_only(enroll(ca_server, token, csr_body(key, "Someone Else")))
    cert.verify_directly_issued_by(root_of(ca_server))
    assert cert.public_key() == key.public_key()
    # The subject is the signed-in account's, whatever the CSR said.
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Dr Demo Specialist"
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "SYN-LIC-70001"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "MD, FRCR, Consultant"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36") in eku
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == f"{ca_server.base_url}/crl"


def test_the_other_account_gets_its_own_subject(ca_server: RunningServer) -> None:
    other = str(sign_in(ca_server.base_url, "dr.other")["access_token"])
    key = ec.generate_private_key(ec.SECP256R1())
    (cert,) = certs_only(enroll(ca_server, other, csr_body(key)))
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "SYN-LIC-70002"


@pytest.mark.parametrize("authorization", [None, "Bearer at-not-a-token"])
def test_enrollment_needs_a_valid_token(
    ca_server: RunningServer, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/pkcs10"}
    if authorization:
        headers["Authorization"] = authorization
    key = ec.generate_private_key(ec.SECP256R1())
    response = httpx.post(
        f"{ca_server.base_url}/.well-known/est/simpleenroll",
        content=csr_body(key),
        headers=headers,
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="reviewer"')


def test_bad_requests_are_refused(ca_server: RunningServer, token: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    good = base64.b64decode(csr_body(key))
    # A flipped byte inside the signature: the CSR no longer proves possession.
    forged = bytearray(good)
    forged[-5] ^= 0x01
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for body in (
        b"",
        b"not base64 !!",
        base64.encodebytes(b"\x30\x03\x02\x01\x00"),
        base64.encodebytes(bytes(forged)),
        csr_body(weak),
        csr_body(ec.generate_private_key(ec.SECP521R1())),
    ):
        response = enroll(ca_server, token, body)
        assert response.status_code == 400, body[:40]


def test_the_ca_survives_a_restart(tmp_path: Path) -> None:
    first = start(cases=1, ct_slices=2, storage=tmp_path)
    try:
        root = root_of(first)
    finally:
        first.stop()
    second = start(cases=1, ct_slices=2, storage=tmp_path)
    try:
        assert root_of(second) == root
    finally:
        second.stop()


def test_crl_lists_revoked_certificates(ca_server: RunningServer, token: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (cert,) = certs_only(enroll(ca_server, token, csr_body(key)))
    root = root_of(ca_server)

    def crl() -> x509.CertificateRevocationList:
        response = httpx.get(f"{ca_server.base_url}/crl")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pkix-crl"
        loaded = x509.load_der_x509_crl(response.content)
        assert loaded.is_signature_valid(root.public_key())  # type: ignore[arg-type]
        return loaded

    before = crl()
    assert before.get_revoked_certificate_by_serial_number(cert.serial_number) is None
    ca_server.app.ca.revoke(cert.serial_number)
    after = crl()
    assert after.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    number = after.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_timestamp_authority_answers_rfc3161(ca_server: RunningServer) -> None:
    digest = hashlib.sha256(b"an opinion").digest()
    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    response = httpx.post(
        f"{ca_server.base_url}/tsa",
        content=request.dump(),
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/timestamp-reply"
    reply = tsp.TimeStampResp.load(response.content)
    assert reply["status"]["status"].native == "granted"
    signed = reply["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == nonce
    # The TSA certificate is issued by the platform CA and is for timestamping only.
    tsa_der = next(
        c.chosen.dump()
        for c in signed["certificates"]
        if isinstance(c.chosen, asn1_x509.Certificate) and c.chosen.self_signed == "no"
    )
    tsa = x509.load_der_x509_certificate(tsa_der)
    tsa.verify_directly_issued_by(root_of(ca_server))
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_timestamp_authority_refuses_other_bodies(ca_server: RunningServer) -> None:
    url = f"{ca_server.base_url}/tsa"
    wrong_type = httpx.post(url, content=b"x", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    garbage = httpx.post(
        url, content=b"\x30\x00", headers={"Content-Type": "application/timestamp-query"}
    )
    assert garbage.status_code == 400
