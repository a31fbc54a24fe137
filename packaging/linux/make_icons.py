"""Render resources/icons/reviewer.svg to the PNG sizes a Linux desktop wants.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/linux/make_icons.py OUT_DIR

Writes ``OUT_DIR/hicolor/<n>x<n>/apps/reviewer.png`` for 48, 128 and 256 (the
freedesktop icon theme layout) with Qt's own SVG renderer, so the PNGs match the app.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ui.qt import QGuiApplication, QImage, QPainter, QSvgRenderer, Qt  # noqa: E402

SIZES = (48, 128, 256)


def render(svg: Path, out: Path) -> list[Path]:
    """Write one PNG per size under ``out``; returns their paths."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"not a valid SVG: {svg}")
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out / "hicolor" / f"{size}x{size}" / "apps" / "reviewer.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"could not write {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    app = QGuiApplication([])
    for written in render(ROOT / "resources" / "icons" / "reviewer.svg", Path(sys.argv[1])):
        print(written)
