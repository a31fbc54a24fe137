"""The audit trail: events recorded in the vault go to the platform with the next sync,
exactly once, and wait in the vault while the platform cannot be reached."""

from __future__ import annotations

import datetime as dt

from demo_server.server import RunningServer
from reviewer_app import audit
from reviewer_app.exchange import PlatformSession
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.helpers import admin, fast_retry


def _received(server: RunningServer) -> list[dict]:
    with admin(server) as staff:
        reply = staff.get("/audit-events")
        reply.raise_for_status()
        return reply.json()


def test_recorded_events_reach_the_platform_once(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        assert engine.run().state == "complete"
    case_id = vault.read().execute("SELECT case_id FROM cases ORDER BY case_id").fetchone()[0]
    patient_id = (
        vault.read()
        .execute("SELECT patient_id FROM case_sync WHERE case_id = ?", (case_id,))
        .fetchone()[0]
    )
    at = dt.datetime(2026, 11, 29, 9, 30, tzinfo=dt.UTC)
    audit.record(vault, audit.AuditAction.VIEW, case_id, at=at).result()
    audit.record(vault, audit.AuditAction.EXPORT, case_id, at=at).result()
    assert len(audit.unsent(vault)) == 2

    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        engine.run()
    events = _received(server)
    assert len(events) == 2
    by_action = {e["subtype"][0]["code"]: e for e in events}
    assert set(by_action) == {"access", "disclose"}
    view = by_action["access"]
    assert view["action"] == "R"
    assert view["recorded"] == "2026-11-29T09:30:00.000Z"
    assert view["agent"][0]["who"]["reference"] == f"Practitioner/{session.practitioner_id()}"
    assert {e["what"]["reference"] for e in view["entity"]} == {
        f"Task/{case_id}",
        f"Patient/{patient_id}",
    }
    assert audit.unsent(vault) == []

    # Another sync sends nothing again; an event sent twice (say its first reply was
    # lost) keeps its id, so the server updates it instead of keeping a duplicate.
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        engine.run()
    assert len(_received(server)) == 2
    vault.write_sync(lambda conn: conn.execute("UPDATE audit SET sent = 0"))
    assert audit.send_pending(vault, session.fhir, session.practitioner_id()) == 2
    assert len(_received(server)) == 2


def test_events_wait_in_the_vault_while_the_platform_is_unreachable(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    audit.record(vault, audit.AuditAction.SIGN, "some-case").result()
    with admin(server) as staff:
        staff.post(
            "/faults", json={"error_rate": 1.0, "error_status": 503, "path": "fhir"}
        ).raise_for_status()
    with SyncEngine(vault, session, retry=fast_retry(attempts=1)) as engine:
        engine.run()
    assert [e.action for e in audit.unsent(vault)] == [audit.AuditAction.SIGN]
    assert _received(server) == []
