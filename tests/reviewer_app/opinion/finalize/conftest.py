"""Finishing tests: the sync tests' reference server (over real HTTP on 127.0.0.1) and
signed-in session, a case synced into a memory vault by the real sync engine, and the
signing identity enrolled with the module's PKI server (tests/reviewer_app/opinion)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import Enrollment, SigningIdentity
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.fixtures import server, session, warmed_storage  # noqa: F401
from tests.reviewer_app.sync.helpers import fast_retry


@pytest.fixture
def case_id(vault: Vault, session: PlatformSession) -> str:  # noqa: F811
    """The first owned case, fully synced (records, labs, imaging)."""
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        assert engine.run().state == "complete"
    return "syn-0001-task"


@pytest.fixture
def identity(signing_key: ec.EllipticCurvePrivateKey, enrollment: Enrollment) -> SigningIdentity:
    return SigningIdentity(signing_key, enrollment.chain)
