"""The outbox tests use the sync tests' reference server and signed-in session."""

from tests.reviewer_app.sync.fixtures import server, session, warmed_storage  # noqa: F401
