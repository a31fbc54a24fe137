"""The sync tests' fixtures live in fixtures.py so tests/integration can share them."""

from tests.reviewer_app.sync.fixtures import server, session, vault, warmed_storage  # noqa: F401
