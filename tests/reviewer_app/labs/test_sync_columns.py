"""A sync against the reference server stores each result's panel and range text."""

from __future__ import annotations

from demo_server.server import RunningServer
from reviewer_app.casefile import load_case
from reviewer_app.exchange import PlatformSession
from reviewer_app.labs.flowsheet import build_flowsheet
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.fixtures import server, session, vault, warmed_storage  # noqa: F401
from tests.reviewer_app.sync.helpers import fast_retry


def test_panel_and_range_text_are_stored(
    server: RunningServer,  # noqa: F811 - fixtures imported above
    vault: Vault,  # noqa: F811
    session: PlatformSession,  # noqa: F811
) -> None:
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        assert engine.run().state == "complete"
    rows = (
        vault.read()
        .execute(
            "SELECT panel, range_text, value, value_text, low, high FROM lab_results "
            "WHERE case_id = 'syn-0001-task'"
        )
        .fetchall()
    )
    assert rows
    # Every demo result names its panel and carries the lab's own range text.
    assert all(panel and range_text for panel, range_text, *_ in rows)
    panels = {panel for panel, *_ in rows}
    assert panels <= {
        "Full blood count",
        "Metabolic panel",
        "Lipid panel",
        "Diabetes",
        "Tumour markers",
        "Cardiac markers",
        "Inflammation",
        "Urinalysis",
    }
    # The same results as the server's own resources, straight from the store.
    store = server.app.store
    served = {
        obs["id"]: obs
        for obs in store.all("Observation")
        if obs["subject"]["reference"] == "Patient/syn-0001-patient"
    }
    stored = dict(
        vault.read()
        .execute("SELECT lab_id, range_text FROM lab_results WHERE case_id = 'syn-0001-task'")
        .fetchall()
    )
    assert stored == {i: o["referenceRange"][0]["text"] for i, o in served.items()}

    sheet = build_flowsheet(load_case(vault, "syn-0001-task").labs)
    assert {p.name for p in sheet.panels} == panels
    assert sum(len(a.values) for a in sheet.analytes()) == len(rows)
