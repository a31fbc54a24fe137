"""Figures for the opinion: a QImage as the PNG bytes a citation stores."""

from __future__ import annotations

from ui.qt import QBuffer, QByteArray, QImage, QIODevice


def png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG (safe on a worker thread: QImage, not QPixmap)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6's stubs ask for bytes here, but at run time only a str format is accepted.
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]
        raise RuntimeError("the figure could not be encoded as PNG")
    buffer.close()
    return bytes(data.data())
