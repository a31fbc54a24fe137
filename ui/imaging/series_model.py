"""The series browser's model: a case's studies and their series, with thumbnails.

A flat list: each study is a header row (date, description, "imported" for a study from
a patient's CD; not selectable) followed by its series (description, modality, image
count, and a thumbnail once one has been made in the background).
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewer_app.casefile import CaseFile, SeriesEntry, StudyEntry
from ui.qt import (
    QAbstractListModel,
    QColor,
    QFont,
    QImage,
    QModelIndex,
    QPersistentModelIndex,
    QPixmap,
    QSize,
    Qt,
)

THUMB_SIZE = 72
SeriesRole = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class _Row:
    study: StudyEntry
    series: SeriesEntry | None  # None: the study's header row


def series_text(series: SeriesEntry) -> str:
    """What a series row says: description, then modality and image count."""
    count = series.instance_count or len(series.instances)
    images = f"{count} image" + ("" if count == 1 else "s")
    number = f"#{series.number} " if series.number is not None else ""
    title = series.description or "(no description)"
    return f"{number}{title}\n{series.modality or '?'} · {images}"


def study_text(study: StudyEntry) -> str:
    """What a study's header row says."""
    when = study.started.date().isoformat() if study.started else "undated"
    title = study.description or "/".join(study.modalities) or "Study"
    text = f"{when}  {title}"
    if study.source == "import":
        text += "  (imported)"
    return text


class SeriesListModel(QAbstractListModel):
    """Studies and series of one case (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[_Row] = []
        self._thumbs: dict[str, QPixmap] = {}
        self._blank = QPixmap(THUMB_SIZE, THUMB_SIZE)
        self._blank.fill(QColor("#202020"))

    def set_case(self, case: CaseFile | None, *, keep_thumbnails: bool = False) -> None:
        """Show the studies of ``case`` (None: nothing). ``keep_thumbnails``: the same
        case again (after a sync), its series keep the thumbnails already made."""
        self.beginResetModel()
        self._rows = []
        if not keep_thumbnails:
            self._thumbs = {}
        if case is not None:
            for study in case.studies:
                if not study.series:
                    continue
                self._rows.append(_Row(study, None))
                self._rows += [_Row(study, series) for series in study.series]
        self.endResetModel()

    def set_thumbnail(self, series_uid: str, image: QImage) -> None:
        """Show ``image`` as the series' thumbnail."""
        self._thumbs[series_uid] = QPixmap.fromImage(
            image.scaled(
                QSize(THUMB_SIZE, THUMB_SIZE),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        row = self.row_of(series_uid)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def has_thumbnail(self, series_uid: str) -> bool:
        return series_uid in self._thumbs

    def series_at(self, row: int) -> SeriesEntry | None:
        """The series of a row (None for a study header row)."""
        return self._rows[row].series if 0 <= row < len(self._rows) else None

    def study_of(self, series_uid: str) -> StudyEntry | None:
        row = self.row_of(series_uid)
        return self._rows[row].study if row is not None else None

    def row_of(self, series_uid: str) -> int | None:
        for i, row in enumerate(self._rows):
            if row.series is not None and row.series.series_uid == series_uid:
                return i
        return None

    def all_series(self) -> list[SeriesEntry]:
        return [row.series for row in self._rows if row.series is not None]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()].series is None:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        series = row.series
        if role == Qt.ItemDataRole.DisplayRole:
            return study_text(row.study) if series is None else series_text(series)
        if role == Qt.ItemDataRole.DecorationRole and series is not None:
            return self._thumbs.get(series.series_uid, self._blank)
        if role == Qt.ItemDataRole.FontRole and series is None:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            return study_text(row.study) if series is None else series_text(series)
        if role == SeriesRole:
            return series
        return None
