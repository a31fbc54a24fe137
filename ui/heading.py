"""The heading of Reviewer's welcome dialogs: the app badge, a title, a wrapped line."""

from __future__ import annotations

from ui.qt import QHBoxLayout, QIcon, QLabel, QSize, Qt, QVBoxLayout


def dialog_heading(icon: QIcon, title: str, text: str) -> QHBoxLayout:
    """A badge on the left, the title over the explanatory text on the right."""
    badge = QLabel()
    badge.setPixmap(icon.pixmap(QSize(56, 56)))
    title_label = QLabel(title)
    title_label.setObjectName("dialogTitle")
    subtitle = QLabel(text)
    subtitle.setObjectName("dialogSubtitle")
    subtitle.setWordWrap(True)
    heading = QVBoxLayout()
    heading.setSpacing(6)
    heading.addWidget(title_label)
    heading.addWidget(subtitle)
    top = QHBoxLayout()
    top.setSpacing(18)
    top.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
    top.addLayout(heading, 1)
    return top
