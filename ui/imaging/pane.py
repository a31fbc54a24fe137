"""The Imaging pane of the review workspace: a case's studies, series and images.

Left, the series browser (thumbnails, description, modality, image count); in the middle
the slice viewer with its slider; right, the tag browser when asked for. The toolbar has
the windows (the file's own, every one of them, and the CT presets), invert, fit, 1:1,
reset, the measuring tools, cine and local import.

Everything slow runs through :class:`~ui.operations.Operations` (see
:mod:`ui.imaging.loader`); every result is tagged with the case it was computed for and
dropped if the pane shows another case by then. ``show_case`` replaces everything shown;
``clear`` leaves nothing of any patient on screen or in the frame cache.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reviewer_app.casefile import CaseFile, SeriesEntry, load_case
from reviewer_app.errors import ReviewerError
from reviewer_app.imaging import (
    FrameTimes,
    RenderedImage,
    TagRow,
    Window,
    angle,
    dataset_rows,
    distance,
    file_vois,
    frame_times_ms,
    pixel_spacing,
    presets_for,
)
from reviewer_app.imaging.cache import DEFAULT_BUDGET_BYTES, FrameCache
from reviewer_app.imaging.importer import ImportResult, import_folder
from reviewer_app.imaging.series import InstanceRef, SeriesStack, thumbnail
from reviewer_app.imaging.voi import CT_PRESETS, Voi, VoiLut
from reviewer_app.opinion.evidence import Citation, CitationKind, add_citation
from reviewer_app.vault import Vault
from ui.figures import png_bytes
from ui.imaging.cite import (
    KeyImage,
    label_of,
    parse_ref,
    ref_of,
    view_of,
    window_from,
)
from ui.imaging.image_view import ImageView, Point, qimage_from
from ui.imaging.loader import SliceLoader
from ui.imaging.series_model import SeriesListModel
from ui.imaging.tag_browser import TagBrowser
from ui.notifier import Change
from ui.operations import OpContext, Operation, Operations, Priority
from ui.qt import (
    QAbstractItemView,
    QAction,
    QActionGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QImage,
    QLabel,
    QListView,
    QSettings,
    QSize,
    QSlider,
    QSplitter,
    Qt,
    QTimer,
    QToolBar,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.settings import app_settings
from ui.workspace.citing import cite_in_background
from ui.workspace.pane_header import PaneHeader
from ui.workspace.shortcuts import add_shortcut, describe

#: QSettings key of the frame cache's memory budget, in MiB.
CACHE_SETTING = "imaging/cache_budget_mb"
FILE_DEFAULT = "File default window"
CITED_OTHER_CASE = "This citation belongs to another case: it is not shown here."
CITED_GONE_START = "The cited image is no longer in this case"
CITED_IMAGE_GONE = CITED_GONE_START + " (the case was updated since it was cited): {label}"


def cache_budget(settings: QSettings) -> int:
    """The frame cache budget in bytes, from the settings (default 512 MiB)."""
    value = settings.value(CACHE_SETTING, DEFAULT_BUDGET_BYTES // (1024 * 1024))
    try:
        mib = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        mib = DEFAULT_BUDGET_BYTES // (1024 * 1024)
    return max(16, mib) * 1024 * 1024


class ImagingPane(QWidget):
    """The Imaging pane (implements the workspace's CasePane protocol)."""

    pane_title = "Imaging"
    #: A slice's image was put on screen: its display index (-1: the preview).
    image_shown = Signal(int)
    #: Images were imported into the case shown: the case id (the workspace reloads).
    imported = Signal(str, object)
    #: The image on screen was cited: the stored Citation (its case_id is the case it
    #: was cited from, even if the pane shows another one by the time it arrives).
    cite_requested = Signal(object)

    def __init__(
        self,
        ops: Operations,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imagingPane")
        self._ops = ops
        self._settings = settings if settings is not None else app_settings()
        self._case: CaseFile | None = None
        self._vault: Vault | None = None
        self._generation = 0
        self._series: SeriesEntry | None = None
        self._stack: SeriesStack | None = None
        self._index = 0
        self._window: Voi | None = None
        self._invert = False
        self._drag_start: Window | None = None
        self._shown: RenderedImage | None = None
        self._shown_index: int | None = None
        self._shown_sop = ""
        #: A message that stays under the images until the case changes (import result).
        self._notice = ""
        self._tags_for: object = None
        self._timing: dict[int, FrameTimes] = {}
        # Thumbnails and tag rows of the case shown: cancelled when it goes.
        self._side_ops: list[Operation] = []
        # A citation being opened: applied when its series' stack, then its image, arrive.
        self._citing: Citation | None = None
        self._cited_view: tuple[int, Mapping[str, Any]] | None = None
        self.loader = SliceLoader(ops, FrameCache(cache_budget(self._settings)))
        self.loader.stack_ready.connect(self._stack_ready)
        self.loader.stack_updated.connect(self._stack_updated)
        self.loader.shown.connect(self._on_shown)
        self.loader.failed.connect(self._open_failed)
        self._build()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        self.header = PaneHeader(self.pane_title)
        self.series_model = SeriesListModel()
        self.series_list = QListView()
        self.series_list.setObjectName("seriesBrowser")
        self.series_list.setModel(self.series_model)
        self.series_list.setIconSize(QSize(72, 72))
        self.series_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.series_list.setWordWrap(True)
        self.series_list.setSpacing(2)
        self.series_list.selectionModel().currentChanged.connect(
            lambda current, _prev: self._series_chosen(current.row())
        )
        self.view = ImageView()
        self.view.label_for = self._measure_label
        self.view.scroll_requested.connect(self.step)
        self.view.window_dragged.connect(self._window_dragged)
        self.view.zoom_changed.connect(lambda _z: self._refresh_overlay())
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("sliceSlider")
        self.slider.setMinimum(0)
        self.slider.setMaximum(0)
        self.slider.valueChanged.connect(self.go_to)
        self.slice_label = QLabel("")
        self.tags = TagBrowser()
        self.tags.setVisible(False)
        self.cine = QTimer(self)
        self.cine.setObjectName("cineTimer")
        self.cine.setSingleShot(True)
        self.cine.timeout.connect(self._cine_tick)

        self.toolbar = QToolBar()
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        # First in the toolbar: a narrow pane moves the last actions into the overflow.
        self.cite_action = self._action("❝ Cite", self.cite)
        self.cite_action.setObjectName("citeImage")
        self.cite_action.setToolTip(
            "Cite in opinion: this image as a key image, with its window and "
            "measurements (Ctrl+Shift+C)"
        )
        self.presets = QComboBox()
        self.presets.setObjectName("windowPresets")
        self.presets.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.presets.setMinimumContentsLength(24)
        self.presets.setToolTip("Window: the file's own windows and the CT presets")
        self.presets.activated.connect(self._preset_chosen)
        self.toolbar.addWidget(self.presets)
        self.invert_action = self._action("Invert", self._set_invert, checkable=True)
        self.fit_action = self._action("Fit", self.view.fit)
        self.one_to_one_action = self._action("1:1", self.view.one_to_one)
        self.reset_action = self._action("Reset", self.reset)
        self.toolbar.addSeparator()
        modes = QActionGroup(self)
        self.mode_actions = {}
        for mode, text in (("browse", "Pan"), ("distance", "Distance"), ("angle", "Angle")):
            action = self._action(text, lambda _c=False, m=mode: self.view.set_mode(m), True)
            modes.addAction(action)
            self.mode_actions[mode] = action
        self.mode_actions["browse"].setChecked(True)
        self.toolbar.addSeparator()
        self.play_action = self._action("Play", self._set_playing, checkable=True)
        self._action("◀ Step", lambda: self.step(-1))
        self._action("Step ▶", lambda: self.step(1))
        self.loop_action = self._action("Loop", None, checkable=True)
        self.loop_action.setChecked(True)
        self.toolbar.addSeparator()
        self.tags_action = self._action("Tags", self._show_tags, checkable=True)
        self.import_action = self._action("Import…", self._choose_import)
        self.import_action.setToolTip("Add a patient's CD (DICOMDIR) or a DICOM folder")

        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.view, 1)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.slice_label)
        column.addLayout(row)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.series_list)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.tags)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 700, 400])
        self.status = QLabel("")
        self.status.setObjectName("imagingStatus")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        self._build_shortcuts()
        self._set_enabled(False)

    def _build_shortcuts(self) -> None:
        """The pane's keys (listed by the workspace's help overlay). Slice keys belong to
        the image (the series list keeps its arrows); the rest work anywhere in the pane,
        which hands the keyboard to the image when it gets the focus."""
        self.setFocusProxy(self.view)
        image = Qt.ShortcutContext.WidgetShortcut
        for text, keys, delta in (
            ("Next slice (or the mouse wheel)", ["Down", "Right"], 1),
            ("Previous slice", ["Up", "Left"], -1),
            ("10 slices on", ["PgDown"], 10),
            ("10 slices back", ["PgUp"], -10),
            ("First slice", ["Home"], -(10**9)),
            ("Last slice", ["End"], 10**9),
        ):
            add_shortcut(
                self, text, keys, lambda d=delta: self.step(d), on=self.view, context=image
            )
        add_shortcut(
            self,
            "Cancel the measurement being drawn",
            ["Escape"],
            self.view.cancel_measurement,
            on=self.view,
            context=image,
        )
        add_shortcut(self, "Window: the file's own", ["0"], lambda: self._window_key(FILE_DEFAULT))
        for n, preset in enumerate(CT_PRESETS, start=1):
            add_shortcut(
                self,
                f"Window: {preset.explanation} (CT)",
                [str(n)],
                lambda name=preset.explanation: self._window_key(name),
            )
        describe(self.invert_action, "Invert the greys", ["I"], self)
        describe(self.fit_action, "Fit the image to the view", ["F"], self)
        describe(self.one_to_one_action, "One image pixel per screen pixel (1:1)", ["Ctrl+0"], self)
        describe(self.reset_action, "Reset window, zoom and tool", ["Ctrl+R"], self)
        describe(self.mode_actions["browse"], "Pan and window tool (drag)", ["P"], self)
        describe(self.mode_actions["distance"], "Measure a distance", ["D"], self)
        describe(self.mode_actions["angle"], "Measure an angle", ["A"], self)
        describe(self.play_action, "Play or stop the cine loop", ["Space"], self)
        describe(self.loop_action, "Loop the cine on or off", ["L"], self)
        describe(self.tags_action, "Show or hide the DICOM tags", ["T"], self)
        describe(self.cite_action, "Cite this image in the opinion", ["Ctrl+Shift+C"], self)

    def _window_key(self, name: str) -> None:
        if self._stack is None or not self._stack.slices:
            return
        try:
            self.apply_preset(name)
        except KeyError:
            self.status.setText(f"No {name} window for this image.")

    def _action(self, text: str, slot: object, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(slot)
        self.toolbar.addAction(action)
        return action

    def _set_enabled(self, enabled: bool) -> None:
        self.toolbar.setEnabled(enabled)
        self.slider.setEnabled(enabled)

    # --- CasePane ------------------------------------------------------------------------

    def case_id(self) -> str | None:
        """The case shown, or None."""
        return self._case.case_id if self._case is not None else None

    def show_case(self, case: CaseFile, vault: Vault) -> None:
        """Show ``case``: replaces every series, image, measurement and tag shown.

        The same case again (a sync brought more of it) keeps the reader's place: the
        series, the slice (found again by its instance), window, zoom, pan and
        measurements; the series' newly stored slices become viewable."""
        if self._follow(case, vault):
            return
        self.clear()
        self._case, self._vault = case, vault
        self.header.set_case(case)
        self.series_model.set_case(case)
        self.import_action.setEnabled(True)
        self.toolbar.setEnabled(True)
        series = self.series_model.all_series()
        if series:
            self.open_series(series[0].series_uid)
            self._make_thumbnails()
        else:
            self.status.setText("No images in this case. Import a CD with “Import…”.")

    def _follow(self, case: CaseFile, vault: Vault) -> bool:
        """Take a newer CaseFile of the case shown without moving the view; False if
        there is nothing to keep (another case, no series open, the series is gone)."""
        current = self._series
        if self._case is None or self._case.case_id != case.case_id or current is None:
            return False
        uid = current.series_uid
        fresh = next((s for st in case.studies for s in st.series if s.series_uid == uid), None)
        if fresh is None:
            return False
        self._case, self._vault = case, vault
        self.header.set_case(case)
        # Before the model is reset: selecting the series again must not reopen it.
        self._series = fresh
        self.series_model.set_case(case, keep_thumbnails=True)
        row = self.series_model.row_of(uid)
        assert row is not None
        self.series_list.setCurrentIndex(self.series_model.index(row))
        before = [(i.sop_uid, i.object_id) for i in current.instances]
        if [(i.sop_uid, i.object_id) for i in fresh.instances] != before:
            refs = [InstanceRef(i.sop_uid, i.number, i.object_id) for i in fresh.instances]
            self.loader.refresh(vault, refs)
        self._make_thumbnails()
        self._refresh_overlay()
        return True

    def clear(self) -> None:
        """Show nothing of any patient, and forget the decoded frames."""
        self._generation += 1
        self._stop_cine()
        self.loader.close()
        for op in self._side_ops:
            op.cancel()
        self._side_ops = []
        # A new cache, not a cleared one: a worker still decoding for the last case
        # fills the old object, which nothing refers to any more.
        self.loader.cache = FrameCache(cache_budget(self._settings))
        self._case = self._vault = None
        self._series = self._stack = self._shown = None
        self._shown_index = None
        self._window, self._invert, self._index = None, False, 0
        self._tags_for = None
        self._timing = {}
        self._notice = ""
        self._citing = self._cited_view = None
        self.invert_action.setChecked(False)
        self.header.clear()
        self.series_model.set_case(None)
        self.view.clear()
        self.tags.set_rows([])
        self.presets.clear()
        self.slider.blockSignals(True)
        self.slider.setMaximum(0)
        self.slider.blockSignals(False)
        self.slice_label.setText("")
        self.status.setText("")
        self._set_enabled(False)

    def open_ref(self, ref: str) -> None:
        """Open a timeline reference: ``series:<series UID>``."""
        kind, _, uid = ref.partition(":")
        if kind == "series" and uid:
            self.open_series(uid)

    # --- series --------------------------------------------------------------------------

    def open_series(self, series_uid: str) -> None:
        """Select and open a series of the case shown."""
        row = self.series_model.row_of(series_uid)
        if row is None:
            return
        index = self.series_model.index(row)
        if self.series_list.currentIndex() != index:
            self.series_list.setCurrentIndex(index)  # opens it through currentChanged
        elif self._series is None or self._series.series_uid != series_uid:
            self._series_chosen(row)

    def current_series(self) -> SeriesEntry | None:
        return self._series

    def _series_chosen(self, row: int) -> None:
        series = self.series_model.series_at(row)
        if series is None or self._case is None or self._vault is None:
            return
        if self._series is not None and self._series.series_uid == series.series_uid:
            return
        self._stop_cine()
        self._citing = self._cited_view = None
        self._series, self._stack, self._shown, self._shown_index = series, None, None, None
        self._window, self._index, self._tags_for, self._timing = None, 0, None, {}
        self.view.clear_measurements()
        self.view.fit()
        refs = [InstanceRef(i.sop_uid, i.number, i.object_id) for i in series.instances]
        self.status.setText("Reading the series…")
        self.loader.open(self._vault, self._case.case_id, series.series_uid, refs)

    def _stack_ready(self, stack: SeriesStack) -> None:
        self._stack = stack
        self._set_enabled(True)
        self.status.setText(self._notice if stack.slices else "This series has no images.")
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, len(stack.slices) - 1))
        self.slider.setPageStep(10)
        self.slider.blockSignals(False)
        self._fill_presets()
        if self._citing is not None:
            citation, self._citing = self._citing, None
            self._apply_citation(citation)
        elif stack.slices:
            self.go_to(0)

    def _stack_updated(self, stack: SeriesStack) -> None:
        """The open series was rebuilt with more slices: stay on the same instance (its
        index may have changed), keep window, zoom and measurements, and show it again."""
        old, series = self._stack, self._series
        self._stack = stack
        self._timing, self._tags_for = {}, None
        if old is None or series is None or not stack.slices:
            self._stack_ready(stack)
            return

        def new_index(i: int) -> int | None:
            s = old.slices[i]
            return stack.index_of(old.instances[s.instance].sop_uid, s.frame)

        index = new_index(self._index) if self._index < len(old.slices) else None
        if index is None:
            index = min(self._index, len(stack.slices) - 1)
        uid = series.series_uid
        self.view.rekey_measurements(
            {(uid, i): (uid, n) for i in range(len(old.slices)) if (n := new_index(i)) is not None}
        )
        if self._shown_index is not None and self._shown_index >= 0:
            self._shown_index = index  # the image on screen is that instance's
        self.slider.blockSignals(True)
        self.slider.setMaximum(len(stack.slices) - 1)
        self.slider.blockSignals(False)
        if self.presets.count() <= 1:
            window = self._window
            self._fill_presets()  # the first stack had no header to offer windows from
            self._window = window
        self._set_enabled(True)
        self.go_to(index)
        self._refresh_overlay()

    def _open_failed(self, reason: str) -> None:
        self.status.setText(reason)

    def slice_count(self) -> int:
        return len(self._stack.slices) if self._stack is not None else 0

    def current_index(self) -> int:
        return self._index

    # --- scrolling -----------------------------------------------------------------------

    def step(self, delta: int) -> None:
        """Move ``delta`` slices (clamped to the series)."""
        if self._stack is None or not self._stack.slices:
            return
        self.go_to(max(0, min(len(self._stack.slices) - 1, self._index + delta)))

    def go_to(self, index: int) -> None:
        """Show slice ``index`` (display order)."""
        if self._stack is None or not 0 <= index < len(self._stack.slices):
            return
        self._index = index
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self.slice_label.setText(f"{index + 1}/{len(self._stack.slices)}")
        self.view.set_slice_key((self._series.series_uid if self._series else "", index))
        self.loader.request(index, self._window, self._invert)

    def _on_shown(self, shown: object) -> None:
        from ui.imaging.loader import Shown

        assert isinstance(shown, Shown)
        if shown.image is not None:
            self.view.set_image(qimage_from(shown.image.pixels))
        else:
            self.view.show_placeholder(
                f"This image cannot be shown: {shown.problem}." if shown.problem else ""
            )
        self._shown = shown.image
        self._shown_index = shown.index
        self._shown_sop = shown.sop_uid
        if self._cited_view is not None and self._cited_view[0] == shown.index:
            _index, view = self._cited_view
            self._cited_view = None
            self._restore_view(view)
        self._refresh_overlay()
        if self.tags.isVisible():
            self._load_tags()
        self.image_shown.emit(shown.index)

    # --- overlay -------------------------------------------------------------------------

    def _refresh_overlay(self) -> None:
        case, series, index = self._case, self._series, self._shown_index
        if case is None or series is None or index is None:
            return
        study = self.series_model.study_of(series.series_uid)
        top_left = [case.patient.name]
        if study is not None:
            when = study.started.date().isoformat() if study.started else "undated"
            top_left.append(f"{when} {study.description}".strip())
        top_left.append(f"Series {series.number or ''} {series.description}".replace("  ", " "))
        top_right: list[str] = []
        stack = self._stack
        if index < 0 or stack is None:
            top_right.append(f"Slice –/{series.instance_count or len(series.instances)}")
        else:
            s = stack.slices[index]
            if s.frames == 1 or len(stack.instances) > 1:
                top_right.append(f"Slice {index + 1}/{len(stack.slices)}")
            if s.frames > 1:
                top_right.append(f"Frame {s.frame + 1}/{s.frames}")
                top_right.append(self._rate_text(index))
            position = stack.positions[index] if index < len(stack.positions) else None
            if position is not None:
                top_right.append(f"Position {position:.1f} mm")
            elif stack.order.method != "position" and s.frames == 1:
                top_right.append(f"Order: {stack.order.method}")
        image = self._shown
        bottom_left = []
        if image is not None:
            if image.window is not None:
                bottom_left.append(image.window.label)
            else:
                bottom_left.append("Colour (no window)")
            if self._invert:
                bottom_left.append("Inverted")
        bottom_left.append(f"Zoom {self.view.zoom() * 100:.0f}%")
        bottom_right: list[str] = []
        spacing = self._spacing()
        if spacing is not None and spacing.source == "ImagerPixelSpacing":
            bottom_right.append("Spacing at detector")
        elif spacing is not None and spacing.source == "none":
            bottom_right.append("No pixel spacing: measures in px")
        lossy = ""
        if image is not None and image.lossy:
            # "lossy compressed (ratio 8:1 …)" → "LOSSY (ratio 8:1 …)"; keeps "possibly".
            detail = image.lossy.reason.replace("lossy compressed", "").strip()
            lossy = f"LOSSY {detail}".strip()
        self.view.set_overlay(
            {
                "top_left": top_left,
                "top_right": top_right,
                "bottom_left": bottom_left,
                "bottom_right": bottom_right,
            },
            lossy,
        )

    # --- window / level ------------------------------------------------------------------

    def _fill_presets(self) -> None:
        self.presets.clear()
        self.presets.addItem(FILE_DEFAULT, None)
        header = self._stack.header(0) if self._stack and self._stack.slices else None
        if header is None:
            return
        for voi in file_vois(header, self._stack.slices[0].frame):  # type: ignore[union-attr]
            text = voi.label
            if isinstance(voi, Window) and voi.explanation:
                text = f"File: {voi.explanation} ({voi.label})"
            elif isinstance(voi, Window):
                text = f"File: {voi.label}"
            self.presets.addItem(text, voi)
        for preset in presets_for(header):
            self.presets.addItem(f"{preset.explanation} ({preset.label})", preset)

    def preset_names(self) -> list[str]:
        return [self.presets.itemText(i) for i in range(self.presets.count())]

    def apply_preset(self, name: str) -> None:
        """Apply the window whose menu text starts with ``name`` (e.g. "Lung")."""
        for i in range(self.presets.count()):
            if self.presets.itemText(i).startswith(name):
                self.presets.setCurrentIndex(i)
                self._preset_chosen(i)
                return
        raise KeyError(name)

    def _preset_chosen(self, row: int) -> None:
        self._window = self.presets.itemData(row)
        self._rerender()

    def set_window(self, window: Voi | None) -> None:
        """Use ``window`` for every slice (None: each file's own)."""
        self._window = window
        self._rerender()

    def _set_invert(self, on: bool) -> None:
        self._invert = bool(on)
        self._rerender()

    def _rerender(self) -> None:
        if self._stack is not None and self._stack.slices:
            self.loader.request(self._index, self._window, self._invert)

    def _window_dragged(self, delta: object) -> None:
        if delta is None:
            self._drag_start = None
            return
        if self._shown is None or self._shown.window is None:
            return  # colour images have no window
        if self._drag_start is None:
            current = self._window if self._window is not None else self._shown.window
            if isinstance(current, Window):
                self._drag_start = current
            else:
                self._drag_start = Window(2048, 4096)
        assert isinstance(delta, tuple)
        dx, dy = float(delta[0]), float(delta[1])
        start = self._drag_start
        # Sensitivity follows the width: fine for a brain window, quick for a bone one.
        rate = max(start.width / 300.0, 0.25)
        width = max(1.0, start.width + dx * rate)
        center = start.center - dy * rate
        self._window = Window(round(center, 1), round(width, 1))
        self.presets.setCurrentIndex(-1)
        self._rerender()

    def reset(self) -> None:
        """The file's window, no inversion, fitted, no measurements on this slice."""
        self._window = None
        self._invert = False
        self.invert_action.setChecked(False)
        self.presets.setCurrentIndex(0)
        self.mode_actions["browse"].setChecked(True)
        self.view.set_mode("browse")
        self.view.fit()
        self._rerender()

    # --- measurements --------------------------------------------------------------------

    def _spacing(self):  # type: ignore[no-untyped-def]
        if self._stack is None or self._shown_index is None or self._shown_index < 0:
            return None
        header = self._stack.header(self._shown_index)
        if header is None:
            return None
        return pixel_spacing(header, self._stack.slices[self._shown_index].frame)

    def _measure_label(self, mode: str, points: list[Point]) -> str:
        spacing = self._spacing()
        if mode == "distance":
            if spacing is None:
                return distance(points[0], points[1]).label
            return distance(points[0], points[1], spacing).label
        try:
            value = (
                angle(points[0], points[1], points[2], spacing)
                if spacing
                else angle(points[0], points[1], points[2])
            )
        except ValueError:
            return "angle: three distinct points needed"
        return f"{value:.1f}°"

    # --- citations -----------------------------------------------------------------------

    def key_image(self) -> KeyImage | None:
        """What is on screen, for a citation; None while no image of the current slice is
        shown (loading, a placeholder, another slice on its way)."""
        case, series, stack, image = self._case, self._series, self._stack, self._shown
        index = self._shown_index
        if case is None or series is None or stack is None or image is None:
            return None
        if index is None or index < 0 or index != self._index or not self.view.has_image():
            return None
        s = stack.slices[index]
        instance = stack.instances[s.instance]
        study = self.series_model.study_of(series.series_uid)
        started = study.started.date().isoformat() if study and study.started else ""
        return KeyImage(
            case_id=case.case_id,
            series_uid=series.series_uid,
            sop_uid=instance.sop_uid,
            frame=s.frame,
            frames=s.frames,
            index=index,
            slices=len(stack.slices),
            modality=series.modality,
            study_description=study.description if study else "",
            study_date=started,
            series_number=series.number,
            series_description=series.description,
            instance_number=instance.number,
            applied=image.window,
            chosen=self._window,
            invert=self._invert,
            zoom=self.view.zoom(),
            centre=self.view.centre(),
            fitted=self.view.is_fitted(),
            lossy=image.lossy.reason if image.lossy else "",
            measurements=self.measurement_views(),
        )

    def measurement_views(self) -> list[dict[str, object]]:
        """The current slice's measurements: kind, value, unit, points, label."""
        spacing = self._spacing()
        views: list[dict[str, object]] = []
        for mode, points, label in self.view.measurements():
            unit: str
            if mode == "distance":
                a, b = points[0], points[1]
                m = distance(a, b, spacing) if spacing else distance(a, b)
                value, unit = m.value, m.unit
            else:
                a, b, c = points[0], points[1], points[2]
                try:
                    value = angle(a, b, c, spacing) if spacing else angle(a, b, c)
                except ValueError:
                    continue  # not a measurement (three points not distinct)
                unit = "°"
            views.append(
                {
                    "kind": mode,
                    "value": round(value, 3),
                    "unit": unit,
                    "points": [[round(x, 3), round(y, 3)] for x, y in points],
                    "label": label,
                }
            )
        return views

    def cite(self) -> None:
        """Cite the image on screen as a key image (stored off the UI thread); emits
        ``cite_requested`` with the Citation once it is in the vault."""
        shot = self.key_image()
        vault = self._vault
        if shot is None or vault is None:
            self.status.setText("Nothing to cite yet: wait until the image is shown.")
            return
        spacing = self._spacing()
        square = spacing is not None and abs(spacing.row_mm - spacing.col_mm) < 1e-9
        # A scale bar only for a true patient-plane spacing (not at the detector).
        scale = spacing.col_mm if square and spacing.source == "PixelSpacing" else None
        figure: QImage = self.view.key_image(scale, lossy=bool(shot.lossy))
        ref, label, view = ref_of(shot), label_of(shot), view_of(shot)
        case_id = shot.case_id

        def work(_ctx: OpContext) -> Citation:
            return add_citation(
                vault, case_id, CitationKind.KEY_IMAGE, ref, label, view, png_bytes(figure)
            )

        self.status.setText("Citing the image…")
        cite_in_background(
            self,
            self._ops,
            case_id,
            work,
            what="The image",
            say=lambda text, _problem: self.status.setText(text),
            label="imaging: cite",
        )

    def open_citation(self, citation: Citation) -> None:
        """Show exactly the cited view: its series, instance and frame, with its window,
        inversion, zoom, pan and measurements. A citation of another case, or of an
        image the case no longer has, is not opened: the pane says why."""
        self._citing = self._cited_view = None
        if citation.kind != CitationKind.KEY_IMAGE:
            return
        if self._case is None or citation.case_id != self._case.case_id:
            self.status.setText(CITED_OTHER_CASE)
            return
        parsed = parse_ref(citation.ref)
        series = None
        if parsed is not None:
            series = next(
                (s for st in self._case.studies for s in st.series if s.series_uid == parsed[0]),
                None,
            )
        if (
            parsed is None
            or series is None
            or parsed[1] not in {i.sop_uid for i in series.instances}
        ):
            self.status.setText(CITED_IMAGE_GONE.format(label=citation.label))
            return
        if self._series is not None and self._series.series_uid == series.series_uid:
            if self._stack is not None:
                self._apply_citation(citation)
                return
            self._citing = citation  # its stack is being read
            return
        self.open_series(series.series_uid)
        self._citing = citation
        self.status.setText("Opening the cited image…")

    def citation_message(self) -> str:
        """What the pane says about the last citation opened ("" when it opened)."""
        text = self.status.text()
        return text if text in (CITED_OTHER_CASE,) or text.startswith(CITED_GONE_START) else ""

    def _apply_citation(self, citation: Citation) -> None:
        stack = self._stack
        parsed = parse_ref(citation.ref)
        index = stack.index_of(parsed[1], parsed[2]) if stack and parsed else None
        if stack is None or index is None:
            self.status.setText(CITED_IMAGE_GONE.format(label=citation.label))
            if stack is not None and stack.slices and self._shown is None:
                self.go_to(0)
            return
        view = citation.view
        window = self._cited_window(view)
        self._window = window
        self._select_preset(window)
        self._invert = bool(view.get("invert"))
        self.invert_action.setChecked(self._invert)
        self._cited_view = (index, dict(view))
        self.status.setText(self._notice)
        self.go_to(index)

    def _cited_window(self, view: Mapping[str, Any]) -> Voi | None:
        if view.get("window_choice") != "chosen":
            return None  # the file's own window, as when it was cited
        chosen = view.get("chosen_window") or {}
        presets = [self.presets.itemData(i) for i in range(self.presets.count())]
        if chosen.get("kind") == "voi_lut":
            for voi in presets:
                if isinstance(voi, VoiLut) and voi.explanation == chosen.get("explanation"):
                    return voi
            return None
        window = window_from(chosen)
        return next((voi for voi in presets if voi == window), window)

    def _select_preset(self, window: Voi | None) -> None:
        for i in range(self.presets.count()):
            if self.presets.itemData(i) == window:
                self.presets.setCurrentIndex(i)
                return
        self.presets.setCurrentIndex(-1)

    def _restore_view(self, view: Mapping[str, Any]) -> None:
        if view.get("fit"):
            self.view.fit()
        else:
            pan = view.get("pan") or [0.0, 0.0]
            self.view.set_zoom_and_centre(float(view["zoom"]), (float(pan[0]), float(pan[1])))
        self.view.clear_slice_measurements()
        for m in view.get("measurements") or []:
            points = [(float(x), float(y)) for x, y in m["points"]]
            self.view.add_measurement(str(m["kind"]), points)

    # --- cine ----------------------------------------------------------------------------

    def _timing_of(self, index: int) -> FrameTimes | None:
        if self._stack is None:
            return None
        s = self._stack.slices[index]
        if s.frames <= 1:
            return None
        if s.instance not in self._timing:
            header = self._stack.headers[s.instance]
            if header is None:
                return None
            self._timing[s.instance] = frame_times_ms(header)
        return self._timing[s.instance]

    def _rate_text(self, index: int) -> str:
        timing = self._timing_of(index)
        if timing is None or self._stack is None:
            return ""
        delay = timing.delay_ms(self._stack.slices[index].frame)
        if timing.source == "default":
            return f"{delay:g} ms/frame (rate not in the file)"
        return f"{delay:.1f} ms/frame ({timing.source})"

    def cine_interval_ms(self) -> int:
        """The cine timer's interval now (the current frame's stored frame time)."""
        return self.cine.interval()

    def is_playing(self) -> bool:
        return self.play_action.isChecked()

    def _set_playing(self, on: bool) -> None:
        if on and self._timing_of(self._index) is None:
            self.play_action.setChecked(False)
            self.status.setText("Cine plays multi-frame images; this image has one frame.")
            return
        if on:
            self._schedule_cine()
        else:
            self.cine.stop()

    def _schedule_cine(self) -> None:
        timing = self._timing_of(self._index)
        if timing is None or self._stack is None:
            self._stop_cine()
            return
        frame = self._stack.slices[self._index].frame
        self.cine.start(max(1, math.floor(timing.delay_ms(frame) + 0.5)))

    def _cine_tick(self) -> None:
        if self._stack is None or not self.play_action.isChecked():
            return
        s = self._stack.slices[self._index]
        if s.frame + 1 < s.frames:
            self.go_to(self._index + 1)
        elif self.loop_action.isChecked():
            self.go_to(self._index - s.frame)
        else:
            self._stop_cine()
            return
        self._schedule_cine()

    def _stop_cine(self) -> None:
        self.cine.stop()
        self.play_action.setChecked(False)

    def hideEvent(self, event: object) -> None:
        self._stop_cine()
        super().hideEvent(event)  # type: ignore[arg-type]

    # --- tags ----------------------------------------------------------------------------

    def _show_tags(self, on: bool) -> None:
        self.tags.setVisible(bool(on))
        if on:
            self._load_tags()

    def _load_tags(self) -> None:
        if self._stack is None or self._shown_index is None or self._shown_index < 0:
            return
        instance = self._stack.slices[self._shown_index].instance
        key = (self._generation, id(self._stack), instance)
        if key == self._tags_for:
            return
        self._tags_for = key
        header = self._stack.headers[instance]
        if header is None:
            self.tags.set_rows([])
            return
        generation = self._generation

        def rows(_ctx: OpContext) -> list[TagRow]:
            return dataset_rows(header)

        def done(result: list[TagRow]) -> None:
            if generation == self._generation and self._tags_for == key:
                self.tags.set_rows(result)

        self._track(self._ops.run(rows, success=done, label="imaging: tags"))

    # --- thumbnails ----------------------------------------------------------------------

    def _make_thumbnails(self) -> None:
        vault, generation = self._vault, self._generation
        assert vault is not None
        jobs: list[tuple[str, str]] = []
        for series in self.series_model.all_series():
            if self.series_model.has_thumbnail(series.series_uid):
                continue  # made before a sync brought more of the case
            stored = [i.object_id for i in series.instances if i.object_id is not None]
            if stored:
                jobs.append((series.series_uid, stored[len(stored) // 2]))

        def work(ctx: OpContext) -> None:
            for uid, object_id in jobs:
                ctx.check()
                try:
                    ctx.report((uid, thumbnail(vault, object_id)))
                except ReviewerError:  # UndecodableImage, CorruptObject…
                    continue  # the series row keeps its blank picture

        def progress(value: object) -> None:
            if generation == self._generation:
                assert isinstance(value, tuple)
                uid, pixels = value
                self.series_model.set_thumbnail(uid, qimage_from(pixels))

        self._track(
            self._ops.run(
                work, progress=progress, priority=Priority.LOW, label="imaging: thumbnails"
            )
        )

    def _track(self, op: Operation) -> None:
        self._side_ops = [o for o in self._side_ops if not o.done]
        self._side_ops.append(op)

    # --- import --------------------------------------------------------------------------

    def _choose_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Import a patient's CD or a DICOM folder into this case"
        )
        if folder:
            self.import_folder(Path(folder))

    def import_folder(self, folder: Path) -> None:
        """Import a DICOMDIR or DICOM folder into the case shown, then show it again."""
        if self._case is None or self._vault is None:
            return
        vault, case_id = self._vault, self._case.case_id
        self.status.setText("Importing…")
        self.import_action.setEnabled(False)

        def work(ctx: OpContext) -> tuple[ImportResult, CaseFile]:
            result = import_folder(vault, case_id, folder, ctx.check)
            return result, load_case(vault, case_id)

        def done(value: tuple[ImportResult, CaseFile]) -> None:
            result, case = value
            if self.case_id() != case_id:
                return
            self.show_case(case, vault)
            skipped = f", {len(result.skipped)} file(s) skipped" if result.skipped else ""
            names = ", ".join(sorted(n.replace("^", " ").strip() for n in result.patient_names))
            self._notice = (
                f"Imported {result.instances} image(s) in {result.series} series{skipped}. "
                f"Patient named in the files: {names or 'none'}."
            )
            self.status.setText(self._notice)
            self.imported.emit(case_id, result)

        def failed(error: BaseException) -> None:
            if self.case_id() == case_id:
                self.import_action.setEnabled(True)
                text = error.message if isinstance(error, ReviewerError) else "Import failed."
                self.status.setText(text)
            if not isinstance(error, ReviewerError):
                self._ops.unhandled.emit(error)

        self._ops.run(
            work, success=done, failure=failed, changes=Change.CASES, label="imaging: import"
        )
