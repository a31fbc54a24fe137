"""Fixtures for the integration tests: the sync tests share the sync fixtures (a warmed
reference server, a memory vault, a signed-in session) and the real Orthanc."""

from tests.fixtures.orthanc import orthanc  # noqa: F401
from tests.fixtures.synced_case import synced_case, synced_source  # noqa: F401
from tests.reviewer_app.sync.fixtures import server, session, vault, warmed_storage  # noqa: F401
