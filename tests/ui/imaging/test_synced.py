"""The Imaging pane on cases synced from the reference server (every modality it makes)."""

from __future__ import annotations

from typing import Any

from reviewer_app.casefile import load_case
from tests.fixtures.synced_case import synced_case, synced_source  # noqa: F401
from ui.imaging.pane import ImagingPane


def test_every_synced_series_displays(qtbot: Any, synced_case: Any, ops: Any) -> None:  # noqa: F811
    synced = synced_case()
    pane = ImagingPane(ops)
    qtbot.addWidget(pane)
    pane.resize(900, 600)
    pane.show()
    seen: dict[str, list[str]] = {}
    for case_id in synced.case_ids:
        case = load_case(synced.vault, case_id)
        pane.show_case(case, synced.vault)
        for series in pane.series_model.all_series():
            pane.open_series(series.series_uid)
            qtbot.waitUntil(
                lambda s=series: (
                    pane.current_series() is s
                    and pane._stack is not None
                    and pane._shown_index == 0
                    and (pane.view.has_image() or pane.view.placeholder() != "")
                ),
                timeout=10_000,
            )
            assert pane.view.has_image(), pane.view.placeholder()
            assert pane.view.overlay("top_left")[0] == case.patient.name
            seen.setdefault(series.modality, []).append(pane.view.overlay_text())
    assert {"CT", "MR", "CR", "US"} <= set(seen)
    assert any("Slice 1/12" in text for text in seen["CT"])
    # CR has only Imager Pixel Spacing: the overlay says so.
    assert all("Spacing at detector" in text for text in seen["CR"])
    assert any("Frame 1/" in text for text in seen["US"])
    lossy = [text for texts in seen.values() for text in texts if "LOSSY" in text]
    assert lossy, "the synthetic cases include lossy-compressed series"
