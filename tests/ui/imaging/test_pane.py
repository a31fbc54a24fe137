"""The Imaging pane with real vaults and real decoding: scroll, window, measure, cine,
tags, placeholders, local import, and switching case (never the wrong patient)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import generate_uid

from reviewer_app.casefile import CaseFile, load_case
from reviewer_app.imaging.voi import Window
from tests.reviewer_app.imaging.series_data import (
    PATIENT_MARKER,
    cine,
    ct_slice,
    store_series,
)
from tests.reviewer_app.imaging.test_importer import tree_hash, write_cd
from tests.ui.helpers import add_case
from ui.imaging.pane import ImagingPane
from ui.qt import QPoint, QPointF, Qt

ZS = [10.0, 0.0, 40.0, 20.0, 30.0]  # instance numbers 1..5: not the position order


def case_with(vault: Any, case_id: str, name: str, *series: list[Any], **kw: Any) -> CaseFile:
    add_case(vault, case_id, name)
    for items in series:
        store_series(vault, case_id, items, **kw)
    return load_case(vault, case_id)


@pytest.fixture
def pane(qtbot: Any, vault: Any, ops: Any) -> ImagingPane:
    widget = ImagingPane(ops)
    qtbot.addWidget(widget)
    widget.resize(1000, 640)
    widget.show()
    return widget


def wait_slice(qtbot: Any, pane: ImagingPane, text: str) -> None:
    """Wait until a line of the overlay's top right corner is ``text``."""
    qtbot.waitUntil(lambda: text in pane.view.overlay("top_right"), timeout=5000)


def pixel(pane: ImagingPane) -> int:
    image = pane.view.image()
    return image.pixelColor(image.width() - 1, image.height() - 1).red()


def test_scrolling_by_wheel_keys_and_slider_follows_slice_position(
    qtbot: Any, pane: ImagingPane, vault: Any
) -> None:
    case = case_with(vault, "c1", "Doe^Jane", [ct_slice(z, n + 1) for n, z in enumerate(ZS)])
    pane.show_case(case, vault)
    wait_slice(qtbot, pane, "Slice 1/5")
    assert pane.view.overlay("top_right")[1] == "Position 0.0 mm"
    seen = {}

    def record() -> None:
        qtbot.waitUntil(lambda: pane.view.has_image() and pane._shown_index == pane.current_index())
        seen[pane.current_index()] = (pane.view.overlay("top_right")[1], pixel(pane))

    record()
    pane.view.setFocus()
    # Wheel towards the user: the next slice.
    from ui.qt import QWheelEvent

    event = QWheelEvent(
        QPointF(50, 50),
        QPointF(50, 50),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    pane.view.wheelEvent(event)
    wait_slice(qtbot, pane, "Slice 2/5")
    record()
    qtbot.keyClick(pane.view, Qt.Key.Key_Down)
    wait_slice(qtbot, pane, "Slice 3/5")
    record()
    qtbot.keyClick(pane.view, Qt.Key.Key_PageDown)
    wait_slice(qtbot, pane, "Slice 5/5")
    record()
    pane.slider.setValue(3)
    wait_slice(qtbot, pane, "Slice 4/5")
    record()
    assert [seen[i][0] for i in sorted(seen)] == [f"Position {z:.1f} mm" for z in sorted(ZS)]
    # The image shown is the slice named: brighter with z at the file's brain window.
    brightness = [seen[i][1] for i in sorted(seen)]
    assert brightness == sorted(brightness) and len(set(brightness)) > 1
    assert pane.slider.value() == 3


def test_right_drag_and_presets_change_the_window(
    qtbot: Any, pane: ImagingPane, vault: Any
) -> None:
    case = case_with(vault, "c1", "Doe^Jane", [ct_slice(z, n + 1) for n, z in enumerate(ZS)])
    pane.show_case(case, vault)
    wait_slice(qtbot, pane, "Slice 1/5")
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[:1] == ["W 80 L 40"])
    names = pane.preset_names()
    # Every window of the file, not only the first, and the CT presets.
    assert any("BRAIN" in n for n in names) and any("BONE" in n for n in names)
    for preset in ("Brain", "Subdural", "Lung", "Mediastinum", "Abdomen", "Liver", "Bone"):
        assert any(n.startswith(preset) for n in names)
    pane.apply_preset("Lung")
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[0] == "W 1500 L -600")
    pane.apply_preset("File: BONE")
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[0] == "W 1800 L 400")

    viewport = pane.view.viewport()
    start = QPoint(200, 200)
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=start)
    from ui.qt import QEvent, QMouseEvent

    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(260, 170),
        QPointF(260, 170),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.RightButton,
        Qt.KeyboardModifier.NoModifier,
    )
    pane.view.mouseMoveEvent(move)
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=QPoint(260, 170))
    rate = 1800 / 300
    expected = Window(round(400 + 30 * rate, 1), round(1800 + 60 * rate, 1)).label
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[0] == expected)
    pane.reset()
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[0] == "W 80 L 40")


def measure(qtbot: Any, pane: ImagingPane, mode: str, points: list[tuple[int, int]]) -> Any:
    pane.mode_actions[mode].trigger()
    with qtbot.waitSignal(pane.view.measured) as blocker:
        for x, y in points:
            pos = pane.view.mapFromScene(QPointF(x, y))
            qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    return blocker.args[1]


@pytest.mark.parametrize(
    ("attrs", "unit_text"),
    [
        ({}, " mm"),
        ({"PixelSpacing": None, "ImagerPixelSpacing": [0.5, 0.25]}, "at detector"),
        ({"PixelSpacing": None}, "px (no pixel spacing)"),
    ],
)
def test_distance_uses_pixel_spacing_and_says_what_it_rests_on(
    qtbot: Any, pane: ImagingPane, vault: Any, attrs: dict[str, Any], unit_text: str
) -> None:
    ds = ct_slice(0.0, 1, size=128)
    for key, value in attrs.items():
        if value is None:
            del ds[key]
        else:
            setattr(ds, key, value)
    case = case_with(vault, "c1", "Doe^Jane", [ds])
    pane.show_case(case, vault)
    wait_slice(qtbot, pane, "Slice 1/1")
    qtbot.waitUntil(pane.view.has_image)
    pane.view.one_to_one()
    points = measure(qtbot, pane, "distance", [(20, 20), (60, 50)])
    (x1, y1), (x2, y2) = points
    assert abs(x1 - 20) <= 1 and abs(y2 - 50) <= 1
    label = pane.view.measurement_labels()[0]
    assert unit_text in label
    if attrs.get("PixelSpacing", "kept") is not None or "ImagerPixelSpacing" in attrs:
        # rows 0.5 mm apart, columns 0.25 mm: 40 columns and 30 rows ≈ 18.0 mm.
        expected = ((x2 - x1) * 0.25) ** 2 + ((y2 - y1) * 0.5) ** 2
        assert label.startswith(f"{expected**0.5:.1f} mm")
        assert abs(expected**0.5 - 18.03) < 0.6
    else:
        expected = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        assert label == f"{expected:.1f} px (no pixel spacing)"
        assert "measures in px" in pane.view.overlay_text()
    angle = measure(qtbot, pane, "angle", [(20, 100), (60, 100), (60, 60)])
    assert len(angle) == 3
    assert pane.view.measurement_labels()[-1].endswith("°")


def test_lossy_mark_shown_only_for_lossy_images(qtbot: Any, pane: ImagingPane, vault: Any) -> None:
    lossy = ct_slice(0.0, 1, LossyImageCompression="01", LossyImageCompressionRatio=["8"])
    case = case_with(vault, "c1", "Doe^Jane", [lossy])
    pane.show_case(case, vault)
    qtbot.waitUntil(lambda: pane.view.lossy_mark() != "")
    assert pane.view.lossy_mark().startswith("LOSSY")
    assert "ratio 8:1" in pane.view.lossy_mark()
    other = case_with(vault, "c2", "Roe^Rich", [ct_slice(0.0, 1)])
    pane.show_case(other, vault)
    wait_slice(qtbot, pane, "Slice 1/1")
    qtbot.waitUntil(pane.view.has_image)
    assert pane.view.lossy_mark() == ""


def test_cine_plays_at_the_stored_frame_time_and_steps(
    qtbot: Any, pane: ImagingPane, vault: Any
) -> None:
    case = case_with(vault, "c1", "Doe^Jane", [cine(frames=4, frame_time="40")], modality="US")
    pane.show_case(case, vault)
    wait_slice(qtbot, pane, "Frame 1/4")
    assert "40.0 ms/frame (FrameTime)" in pane.view.overlay("top_right")
    pane.play_action.trigger()
    assert pane.is_playing()
    assert pane.cine_interval_ms() == 40
    wait_slice(qtbot, pane, "Frame 3/4")
    # It loops: after the last frame comes the first again.
    wait_slice(qtbot, pane, "Frame 4/4")
    wait_slice(qtbot, pane, "Frame 1/4")
    pane.play_action.trigger()
    assert not pane.is_playing() and not pane.cine.isActive()
    index = pane.current_index()
    pane.step(1)
    wait_slice(qtbot, pane, f"Frame {index + 2}/4")


def test_cine_follows_a_frame_time_vector(qtbot: Any, pane: ImagingPane, vault: Any) -> None:
    ds = cine(frames=4, frame_time="40")
    del ds.FrameTime
    ds.FrameTimeVector = [0, 30, 50, 70]
    ds.FrameIncrementPointer = 0x00181065
    pane.show_case(case_with(vault, "c1", "Doe^Jane", [ds], modality="US"), vault)
    wait_slice(qtbot, pane, "Frame 1/4")
    pane.loop_action.setChecked(False)
    intervals = []
    pane.cine.timeout.connect(lambda: intervals.append(pane.cine_interval_ms()))
    pane.play_action.trigger()
    first = pane.cine_interval_ms()
    qtbot.waitUntil(lambda: not pane.is_playing(), timeout=5000)
    # Frame n stays up for the increment before frame n + 1; no loop: it stops at the end.
    assert [first, *intervals[:2]] == [30, 50, 70]
    assert "Frame 4/4" in pane.view.overlay("top_right")


def test_tag_browser_search(qtbot: Any, pane: ImagingPane, vault: Any) -> None:
    case = case_with(vault, "c1", "Doe^Jane", [ct_slice(0.0, 1)])
    pane.show_case(case, vault)
    wait_slice(qtbot, pane, "Slice 1/1")
    pane.tags_action.trigger()
    qtbot.waitUntil(lambda: pane.tags.model.rowCount() > 10)
    pane.tags.search.setText("patientname")
    rows = pane.tags.visible_rows()
    assert [r[1] for r in rows] == ["PatientName"] and rows[0][3] == PATIENT_MARKER
    pane.tags.search.setText("0008,0060")
    assert [(r[1], r[3]) for r in pane.tags.visible_rows()] == [("Modality", "CT")]


def test_an_undecodable_instance_shows_its_reason_and_the_others_display(
    qtbot: Any, pane: ImagingPane, vault: Any
) -> None:
    items = [ct_slice(0.0, 1), b"definitely not DICOM" * 20, ct_slice(5.0, 3)]
    case = case_with(vault, "c1", "Doe^Jane", items)
    pane.show_case(case, vault)
    wait_slice(qtbot, pane, "Slice 1/3")
    qtbot.waitUntil(pane.view.has_image)
    pane.go_to(2)  # the unreadable one is placed last
    wait_slice(qtbot, pane, "Slice 3/3")
    qtbot.waitUntil(lambda: "not a DICOM file" in pane.view.placeholder())
    assert not pane.view.has_image()
    pane.go_to(1)
    wait_slice(qtbot, pane, "Slice 2/3")
    qtbot.waitUntil(pane.view.has_image)
    assert pane.view.placeholder() == ""


def test_local_import_of_a_dicomdir(
    qtbot: Any, pane: ImagingPane, vault: Any, tmp_path: Path, profile: Any
) -> None:
    case = case_with(vault, "c1", "Doe^Jane")
    pane.show_case(case, vault)
    assert pane.series_model.rowCount() == 0
    cd = write_cd(tmp_path / "cd", slices=3)
    before = tree_hash(cd)
    with qtbot.waitSignal(pane.imported, timeout=10_000):
        pane.import_folder(cd)
    assert tree_hash(cd) == before
    assert pane.case_id() == "c1"
    wait_slice(qtbot, pane, "Slice 1/3")
    assert "(imported)" in pane.series_model.data(pane.series_model.index(0))
    # Whose images they are is said, so a CD of another patient is noticed at once.
    assert "Patient named in the files: ZZMARKER Imaging" in pane.status.text()
    marker = PATIENT_MARKER.encode()
    for path in profile.root.rglob("*"):
        if path.is_file():
            assert marker not in path.read_bytes(), path.name


def test_switching_case_replaces_everything_and_drops_late_results(
    qtbot: Any, pane: ImagingPane, vault: Any
) -> None:
    a = case_with(vault, "ca", "Alpha^Ann", [ct_slice(z, n + 1) for n, z in enumerate(ZS)])
    b = case_with(vault, "cb", "Beta^Bob", [ct_slice(0.0, 1, SeriesDescription="Other")])
    pane.show_case(a, vault)
    pane.show_case(b, vault)  # before anything of A has arrived
    wait_slice(qtbot, pane, "Slice 1/1")
    qtbot.waitUntil(pane.view.has_image)
    assert pane.case_id() == "cb"
    assert pane.header.text().startswith("Beta^Bob")
    assert pane.view.overlay("top_left")[0] == "Beta^Bob"
    assert pane.series_model.rowCount() == 2  # its study and its one series
    qtbot.wait(200)  # let A's late results arrive: they must be dropped
    assert pane.view.overlay("top_left")[0] == "Beta^Bob"
    assert "Slice 1/1" in pane.view.overlay("top_right")
    pane.clear()
    assert pane.case_id() is None and pane.view.overlay_text() == ""
    assert pane.series_model.rowCount() == 0 and len(pane.loader.cache) == 0


def test_open_ref_opens_the_series(qtbot: Any, pane: ImagingPane, vault: Any) -> None:
    add_case(vault, "c1", "Doe^Jane")
    study = generate_uid()
    store_series(vault, "c1", [ct_slice(0.0, 1)], study_uid=study)
    second = store_series(
        vault, "c1", [ct_slice(0.0, 1), ct_slice(5.0, 2)], study_uid=study, description="Second"
    )
    pane.show_case(load_case(vault, "c1"), vault)
    qtbot.waitUntil(lambda: pane.view.overlay("top_right")[:1] in (["Slice 1/1"], ["Slice 1/2"]))
    first = next(s for s in pane.series_model.all_series() if s.series_uid != second)
    pane.open_ref(f"series:{first.series_uid}")
    wait_slice(qtbot, pane, "Slice 1/1")
    pane.open_ref(f"series:{second}")
    wait_slice(qtbot, pane, "Slice 1/2")
    assert pane.current_series().series_uid == second


def test_keys_scroll_window_measure_and_show_tags(
    qtbot: Any, pane: ImagingPane, vault: Any
) -> None:
    case = case_with(vault, "c1", "Doe^Jane", [ct_slice(z, n + 1) for n, z in enumerate(ZS)])
    pane.show_case(case, vault)
    wait_slice(qtbot, pane, "Slice 1/5")
    # Given the focus, the pane hands it to the image: the slice keys work at once.
    pane.setFocus()
    qtbot.waitUntil(pane.view.hasFocus)
    qtbot.keyClick(pane.view, Qt.Key.Key_End)
    wait_slice(qtbot, pane, "Slice 5/5")
    qtbot.keyClick(pane.view, Qt.Key.Key_Up)
    wait_slice(qtbot, pane, "Slice 4/5")
    qtbot.keyClick(pane.view, Qt.Key.Key_Home)
    wait_slice(qtbot, pane, "Slice 1/5")
    # Window presets by number (3: Lung), 0: the file's own.
    qtbot.keyClick(pane.view, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[0] == "W 1500 L -600")
    qtbot.keyClick(pane.view, Qt.Key.Key_0)
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[0] == "W 80 L 40")
    qtbot.keyClick(pane.view, Qt.Key.Key_I)
    assert pane.invert_action.isChecked()
    qtbot.waitUntil(lambda: "Inverted" in pane.view.overlay("bottom_left"))
    qtbot.keyClick(pane.view, Qt.Key.Key_D)
    assert pane.mode_actions["distance"].isChecked() and pane.view.mode() == "distance"
    qtbot.keyClick(pane.view, Qt.Key.Key_A)
    assert pane.mode_actions["angle"].isChecked() and pane.view.mode() == "angle"
    qtbot.keyClick(pane.view, Qt.Key.Key_P)
    assert pane.view.mode() == "browse"
    # Pane-wide keys work from the series list too; its arrows stay the list's own.
    pane.series_list.setFocus()
    qtbot.waitUntil(pane.series_list.hasFocus)
    qtbot.keyClick(pane.series_list, Qt.Key.Key_T)
    assert pane.tags.isVisible()
    qtbot.keyClick(pane.series_list, Qt.Key.Key_Down)
    assert pane.current_index() == 0
    # Space plays a cine: this single-frame CT says why it does not.
    qtbot.keyClick(pane.series_list, Qt.Key.Key_Space)
    assert not pane.is_playing()
    assert "multi-frame" in pane.status.text()
