"""Fixtures for the signing tests: the reference server (its CA, TSA and CRL) over real
HTTP on 127.0.0.1, one enrollment through the real OAuth sign-in, a memory vault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from demo_server.server import RunningServer, start
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import Enrollment, SigningKeyStore, enroll, new_private_key, sign_pdf
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.helpers import FAST_SCRYPT, PASSPHRASE, opinion_pdf
from tests.reviewer_app.sync.helpers import memory_vault, signed_in


@pytest.fixture(scope="module")
def pki_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start(cases=1, ct_slices=2, storage=tmp_path_factory.mktemp("pki-srv"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def platform(pki_server: RunningServer) -> Iterator[PlatformSession]:
    with signed_in(pki_server) as session:
        yield session


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return new_private_key()


@pytest.fixture(scope="module")
def enrollment(platform: PlatformSession, signing_key: ec.EllipticCurvePrivateKey) -> Enrollment:
    return enroll(platform, signing_key, common_name="Dr Demo Specialist")


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    opened, _ = memory_vault(tmp_path / "profile")
    yield opened
    opened.close()


@pytest.fixture
def key_store(
    vault: Vault, signing_key: ec.EllipticCurvePrivateKey, enrollment: Enrollment
) -> SigningKeyStore:
    store = SigningKeyStore(vault, scrypt=FAST_SCRYPT)
    store.store(
        signing_key, list(enrollment.chain), PASSPHRASE, platform_ca=list(enrollment.platform_ca)
    )
    return store


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return opinion_pdf()


@pytest.fixture(scope="module")
def signed(
    unsigned: bytes, signing_key: ec.EllipticCurvePrivateKey, enrollment: Enrollment
) -> bytes:
    from reviewer_app.opinion import SigningIdentity

    return sign_pdf(unsigned, SigningIdentity(signing_key, enrollment.chain))
