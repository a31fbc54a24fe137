"""The Records pane's thumbnail strip: a small picture of every page of the open Record.

Thumbnails come from the same :class:`~ui.records.renderer.PageRenderer` as the pages
(cached apart from them), requested only for the rows the list view draws.
"""

from __future__ import annotations

from typing import Any

from reviewer_app.records import PageSize
from reviewer_app.records.geometry import rotated_size
from ui.qt import (
    QAbstractItemView,
    QAbstractListModel,
    QColor,
    QListView,
    QModelIndex,
    QPersistentModelIndex,
    QPixmap,
    QSize,
    Qt,
)
from ui.records.renderer import PageRenderer

#: Thumbnail width in logical pixels.
THUMB_WIDTH = 96


class ThumbnailModel(QAbstractListModel):
    """One row per page: "n" and, as decoration, the page in small."""

    def __init__(self, renderer: PageRenderer, dpr: float = 1.0) -> None:
        super().__init__()
        self._renderer = renderer
        self._sizes: list[PageSize] = []
        self._rotation = 0
        self.dpr = dpr
        # Finished thumbnails, so that painting the strip does not rescale them each time.
        self._pixmaps: dict[int, QPixmap] = {}
        renderer.page_ready.connect(self._on_page_ready)

    def set_pages(self, sizes: list[PageSize], rotation: int = 0) -> None:
        self.beginResetModel()
        self._pixmaps.clear()
        self._sizes = list(sizes)
        self._rotation = rotation
        self.endResetModel()

    def set_rotation(self, rotation: int) -> None:
        self._rotation = rotation
        self._pixmaps.clear()
        if self._sizes:
            self.dataChanged.emit(self.index(0), self.index(len(self._sizes) - 1))

    def _on_page_ready(self, page: int) -> None:
        if 0 <= page < len(self._sizes):
            self._pixmaps.pop(page, None)
            index = self.index(page)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._sizes)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        page = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return str(page + 1)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Page {page + 1}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._picture(page)
        return None

    def _picture(self, page: int) -> QPixmap:
        done = self._pixmaps.get(page)
        if done is not None:
            return done
        turned = rotated_size(self._sizes[page], self._rotation)
        zoom = THUMB_WIDTH / turned.width * self.dpr
        size = QSize(THUMB_WIDTH, max(1, round(turned.height * THUMB_WIDTH / turned.width)))
        image = self._renderer.image(page, zoom, self._rotation, thumbnail=True)
        if image is None or page in self._renderer.failed_pages:
            blank = QPixmap(size * self.dpr)
            blank.fill(QColor("white"))
            blank.setDevicePixelRatio(self.dpr)
            return blank
        pixmap = QPixmap.fromImage(image).scaled(
            size * self.dpr,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        pixmap.setDevicePixelRatio(self.dpr)
        if self._renderer.has_image(page, zoom, self._rotation, thumbnail=True):
            self._pixmaps[page] = pixmap  # the real thumbnail, not a stand-in
        return pixmap


class ThumbnailStrip(QListView):
    """A narrow vertical list of page thumbnails; clicking one shows that page."""

    def __init__(self, model: ThumbnailModel) -> None:
        super().__init__()
        self.setObjectName("recordThumbnails")
        self.setModel(model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setSpacing(6)
        self.setIconSize(QSize(THUMB_WIDTH, round(THUMB_WIDTH * 1.5)))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedWidth(THUMB_WIDTH + 40)
        model.dpr = self.devicePixelRatioF()

    def select_page(self, page: int) -> None:
        model = self.model()
        if 0 <= page < model.rowCount():
            index = model.index(page, 0)
            self.selectionModel().setCurrentIndex(
                index, self.selectionModel().SelectionFlag.ClearAndSelect
            )
            self.scrollTo(index)

    def selected_page(self) -> int | None:
        index = self.currentIndex()
        return index.row() if index.isValid() else None
