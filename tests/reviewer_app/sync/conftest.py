"""The sync tests' fixtures live in fixtures.py so tests/integration can share them."""

from tests.reviewer_app.sync.fixtures import server, session, vault  # noqa: F401
