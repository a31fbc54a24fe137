"""The trend of one analyte: its numeric results over time on the reference-range band.

pyqtgraph draws it (MIT licence, small, fast, works on PySide6-Essentials; Qt Charts
would need the large PySide6-Addons wheel and is GPL for non-commercial Qt). Flagged
points are drawn with the same symbols as the flowsheet (▲ high, ▼ low, ◆ abnormal;
larger for critical), so the plot too reads without colour. Censored and text results
are listed beside the plot, never drawn as numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg

from reviewer_app.labs.flags import FlagKind
from reviewer_app.labs.flowsheet import LabValue
from reviewer_app.labs.trend import BandPoint, Trend, TrendPoint
from ui.labs.flag_style import dark_theme, text_colour
from ui.labs.models import value_tooltip
from ui.qt import (
    QApplication,
    QColor,
    QFont,
    QFontMetrics,
    QFrame,
    QHBoxLayout,
    QImage,
    QLabel,
    QPainter,
    QPalette,
    QRectF,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)

# pyqtgraph symbol names: 't1' points up, 't' down, 'd' is a diamond.
_SYMBOL = {
    FlagKind.HIGH: "t1",
    FlagKind.CRITICAL_HIGH: "t1",
    FlagKind.LOW: "t",
    FlagKind.CRITICAL_LOW: "t",
    FlagKind.ABNORMAL: "d",
    FlagKind.CRITICAL_ABNORMAL: "d",
    FlagKind.OTHER: "d",
}
_DAY = 86_400.0


def band_outline(
    band: Sequence[BandPoint], x_min: float, x_max: float, floor: float, ceiling: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, low and high arrays of the band: each draw's range holds until the next draw's
    (a step), stretched over the plotted span; a missing side becomes the floor/ceiling
    of the plot (a one-sided range shades everything on its normal side)."""
    xs: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for i, b in enumerate(band):
        start = x_min if i == 0 else b.when.timestamp()
        end = x_max if i == len(band) - 1 else band[i + 1].when.timestamp()
        low = floor if b.low is None else b.low
        high = ceiling if b.high is None else b.high
        xs += [start, end]
        lows += [low, low]
        highs += [high, high]
    return np.array(xs), np.array(lows), np.array(highs)


def _point_tip(x: float, y: float, data: object) -> str:
    # The hovered flagged point's own tooltip (value, range, flag and where it came from).
    return str(data)


@dataclass(frozen=True)
class PlotStyle:
    """The colours a trend is drawn in: the app's theme on screen, black on white on paper."""

    dark: bool
    background: QColor
    text: QColor
    axis: QColor
    muted: QColor

    @staticmethod
    def screen() -> PlotStyle:
        pal = QApplication.palette()
        return PlotStyle(
            dark=dark_theme(),
            background=pal.color(QPalette.ColorRole.Base),
            text=pal.color(QPalette.ColorRole.Text),
            axis=pal.color(QPalette.ColorRole.Mid),
            muted=pal.color(QPalette.ColorRole.PlaceholderText),
        )

    @staticmethod
    def paper() -> PlotStyle:
        return PlotStyle(
            dark=False,
            background=QColor("white"),
            text=QColor(20, 20, 20),
            axis=QColor(90, 90, 90),
            muted=QColor(110, 110, 110),
        )


@dataclass
class DrawnTrend:
    """The plot items of a drawn trend (kept so tests can inspect them)."""

    band_item: pg.FillBetweenItem | None = None
    curve_item: pg.PlotDataItem | None = None
    flag_items: dict[FlagKind, pg.ScatterPlotItem] | None = None
    unplotted_items: list[pg.InfiniteLine] | None = None


def style_axes(plot: Any, style: PlotStyle) -> None:
    """Axis and grid colours of ``plot`` (a PlotWidget or PlotItem)."""
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(style.axis))
        axis.setTextPen(pg.mkPen(style.text))


def draw_trend(plot: Any, trend: Trend, style: PlotStyle) -> DrawnTrend:
    """Draw ``trend`` on ``plot`` (a PlotWidget or PlotItem, cleared first): the band,
    the curve, the flagged points and the unplotted results' dotted lines."""
    drawn = DrawnTrend(flag_items={}, unplotted_items=[])
    plot.clear()
    plot.setLabel("left", trend.analyte.unit or "no unit", color=style.text.name())
    unplotted = [v for v in trend.not_plotted if v.effective is not None]
    # The time axis spans every dated result, plotted or not: a run of "<0.01" after
    # the last number is part of the course.
    all_x = [p.when.timestamp() for p in trend.points]
    all_x += [v.effective.timestamp() for v in unplotted if v.effective is not None]
    if not all_x:
        return drawn
    x_min, x_max = min(all_x), max(all_x)
    pad = max((x_max - x_min) * 0.04, _DAY)
    xs = np.array([p.when.timestamp() for p in trend.points])
    ys = np.array([p.value for p in trend.points])
    if trend.band:
        drawn.band_item = _draw_band(plot, trend, ys, (x_min - pad, x_max + pad), style)
    for v in unplotted:
        drawn.unplotted_items.append(_mark_unplotted(plot, v, style))  # type: ignore[union-attr]
    if len(xs):
        drawn.curve_item = plot.plot(
            xs,
            ys,
            pen=pg.mkPen(style.text, width=1.5),
            symbol="o",
            symbolSize=6,
            symbolBrush=pg.mkBrush(style.text),
            symbolPen=pg.mkPen(style.text),
        )
        drawn.flag_items = _draw_flags(plot, trend.flagged, style)
    plot.setXRange(x_min - pad, x_max + pad, padding=0)
    plot.enableAutoRange(axis="y")
    return drawn


def _draw_band(
    plot: Any, trend: Trend, ys: np.ndarray, span: tuple[float, float], style: PlotStyle
) -> pg.FillBetweenItem:
    x_min, x_max = span
    bounds = [v for b in trend.band for v in (b.low, b.high) if v is not None]
    values = [float(v) for v in ys]
    floor = min(0.0, *values, *bounds)
    ceiling = max(*values, *bounds, 0.0) * 1.15 or 1.0
    bx, blow, bhigh = band_outline(trend.band, x_min, x_max, floor, ceiling)
    dark = style.dark
    edge = pg.mkPen((90, 160, 120, 160) if dark else (60, 130, 90, 160), width=1)
    low_curve = pg.PlotDataItem(bx, blow, pen=edge)
    high_curve = pg.PlotDataItem(bx, bhigh, pen=edge)
    band = pg.FillBetweenItem(
        low_curve, high_curve, brush=pg.mkBrush((90, 160, 120, 55 if dark else 45))
    )
    for item in (band, low_curve, high_curve):
        plot.addItem(item)
    return band


def _mark_unplotted(plot: Any, value: LabValue, style: PlotStyle) -> pg.InfiniteLine:
    # A dotted vertical line with the result's own text ("<0.01"): it shows when the
    # result was drawn without putting it at any height on the value axis.
    assert value.effective is not None
    colour = text_colour(value.flag.kind, style.dark) or style.muted
    marker = pg.InfiniteLine(
        pos=value.effective.timestamp(),
        angle=90,
        movable=False,
        pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine),
        label=f"{value.text} {value.flag.label}".strip(),
        labelOpts={"position": 0.93, "color": colour, "anchors": [(0.5, 0), (0.5, 0)]},
    )
    plot.addItem(marker)
    return marker


def _draw_flags(
    plot: Any, points: Sequence[TrendPoint], style: PlotStyle
) -> dict[FlagKind, pg.ScatterPlotItem]:
    by_kind: dict[FlagKind, list[TrendPoint]] = {}
    for p in points:
        by_kind.setdefault(p.result.flag.kind, []).append(p)
    items = {}
    for kind, group in by_kind.items():
        item = pg.ScatterPlotItem(
            x=[p.when.timestamp() for p in group],
            y=[p.value for p in group],
            symbol=_SYMBOL[kind],
            size=16 if kind.critical else 12,
            brush=pg.mkBrush(text_colour(kind, style.dark)),
            pen=pg.mkPen(style.text, width=2 if kind.critical else 1),
            hoverable=True,
            tip=_point_tip,
            data=[value_tooltip(None, [p.result]) for p in group],
        )
        items[kind] = item
        plot.addItem(item)
    return items


def title_text(trend: Trend) -> str:
    """What the plot shows, in words (no patient data): analyte, unit, counts, band."""
    analyte = trend.analyte
    parts = [
        f"{analyte.label} ({analyte.unit or 'no unit'})",
        f"{len(trend.points)} of {len(analyte.values)} results plotted",
    ]
    ranges = dict.fromkeys(v.range_text for v in analyte.values if v.range_text)
    if trend.band and ranges:
        parts.append("shaded band: reference range " + ", then ".join(ranges))
    marks = dict.fromkeys(p.result.flag.label for p in trend.flagged)
    if marks:
        parts.append("flagged: " + "  ".join(marks))
    return " \u00b7 ".join(parts)


def figure_caption(trend: Trend, label: str) -> str:
    """The text above a trend figure: the citation's label and how to read the marks."""
    parts = [label]
    if trend.band:
        parts.append("shaded band: reference range")
    marks = dict.fromkeys(p.result.flag.label for p in trend.flagged)
    if marks:
        parts.append("flagged: " + "  ".join(marks))
    if trend.not_plotted:
        parts.append("dotted lines: results that cannot be plotted (censored or text)")
    return " \u00b7 ".join(parts)


def trend_figure(
    trend: Trend, x_range: tuple[float, float], caption: str, size: tuple[int, int] = (900, 420)
) -> QImage:
    """The trend over ``x_range`` (timestamps) as a print figure: black on white, axes
    with dates and the unit, ``caption`` above, at twice ``size`` in pixels."""
    width, height = size
    ratio = 2.0
    font = QFont(QApplication.font())
    font.setPointSizeF(10)
    metrics = QFontMetrics(font)
    caption_rect = metrics.boundingRect(
        0, 0, width - 24, 1000, int(Qt.TextFlag.TextWordWrap), caption
    )
    top = caption_rect.height() + 14
    # A plot widget of its own, never on screen (pyqtgraph needs a view to lay out its
    # axes): the screen plot's zoom and theme stay as they are.
    widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    plot_height = height - top
    widget.resize(width, plot_height)
    widget.show()
    style = PlotStyle.paper()
    widget.setBackground(style.background)
    item = widget.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom"):
        item.getAxis(side).setStyle(tickFont=font)
    style_axes(item, style)
    draw_trend(item, trend, style)
    item.setXRange(x_range[0], x_range[1], padding=0)
    item.layout.activate()
    widget.scene().prepareForPaint()
    image = QImage(int(width * ratio), int(height * ratio), QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(ratio)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.setFont(font)
        painter.setPen(style.text)
        painter.drawText(
            QRectF(12, 6, width - 24, caption_rect.height() + 4),
            int(Qt.TextFlag.TextWordWrap),
            caption,
        )
        widget.scene().render(
            painter,
            QRectF(0, top, width, plot_height),
            QRectF(0, 0, width, plot_height),
        )
    finally:
        painter.end()
        widget.close()
        widget.deleteLater()
    return image


class TrendPlot(QWidget):
    """Plot of the selected analyte, with the results it cannot plot listed beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trend: Trend | None = None
        self.title = QLabel("Select an analyte to see its trend")
        self.title.setObjectName("labsTrendTitle")
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMinimumHeight(160)
        self.not_plotted = QLabel("")
        self.not_plotted.setObjectName("labsNotPlotted")
        self.not_plotted.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.not_plotted.setWordWrap(True)
        self.not_plotted.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.not_plotted_area = QScrollArea()
        self.not_plotted_area.setWidget(self.not_plotted)
        self.not_plotted_area.setWidgetResizable(True)
        self.not_plotted_area.setFixedWidth(230)
        self.not_plotted_area.setFrameShape(QFrame.Shape.NoFrame)
        # Plot items, kept so tests (and the citation's figure) can inspect them.
        self.band_item: pg.FillBetweenItem | None = None
        self.curve_item: pg.PlotDataItem | None = None
        self.flag_items: dict[FlagKind, pg.ScatterPlotItem] = {}
        self.unplotted_items: list[pg.InfiniteLine] = []

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.plot, 1)
        row.addWidget(self.not_plotted_area)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.title)
        layout.addLayout(row, 1)
        self._apply_palette()
        self.plot.hide()  # until an analyte is selected

    def _apply_palette(self) -> None:
        style = PlotStyle.screen()
        self.plot.setBackground(style.background)
        style_axes(self.plot, style)

    def clear(self) -> None:
        """Show nothing (no case, or no analyte selected)."""
        self.trend = None
        self.plot.clear()
        self.band_item = self.curve_item = None
        self.flag_items = {}
        self.unplotted_items = []
        self.plot.setLabel("left", "")
        self.title.setText("Select an analyte to see its trend")
        self.not_plotted.setText("")
        self.not_plotted.setToolTip("")
        self.not_plotted_area.hide()
        # An empty plot would show meaningless axes (0–1 against the epoch): show none.
        self.plot.hide()

    def show_trend(self, trend: Trend) -> None:
        """Plot ``trend`` (replaces what was shown)."""
        self.clear()
        self.trend = trend
        self.plot.show()
        self.title.setText(title_text(trend))
        self._show_not_plotted(trend)
        drawn = draw_trend(self.plot, trend, PlotStyle.screen())
        self.band_item = drawn.band_item
        self.curve_item = drawn.curve_item
        self.flag_items = drawn.flag_items or {}
        self.unplotted_items = drawn.unplotted_items or []

    def x_range(self) -> tuple[float, float]:
        """The dates shown, as timestamps (first, last)."""
        (x0, x1), _ = self.plot.viewRange()
        return float(x0), float(x1)

    def set_x_range(self, first: float, last: float) -> None:
        """Show the dates from ``first`` to ``last`` (timestamps)."""
        self.plot.setXRange(first, last, padding=0)

    def _show_not_plotted(self, trend: Trend) -> None:
        self.not_plotted_area.setVisible(bool(trend.not_plotted))
        if not trend.not_plotted:
            self.not_plotted.setText("")
            return
        lines = ["Not plotted (censored, text or undated; dotted lines on the plot):"]
        for v in trend.not_plotted:
            flag = f" {v.flag.label}" if v.flag.label else ""
            date = v.effective.strftime("%Y-%m-%d") if v.effective else "undated"
            lines.append(f"{date}  {v.text} {v.unit}".rstrip() + flag)
        self.not_plotted.setText("\n".join(lines))
        self.not_plotted.setToolTip(
            "\n\n".join(value_tooltip(None, [v]) for v in trend.not_plotted)
        )

    def plotted_points(self) -> int:
        """How many results the curve shows."""
        if self.curve_item is None:
            return 0
        xs, _ = self.curve_item.getData()
        return 0 if xs is None else len(xs)
