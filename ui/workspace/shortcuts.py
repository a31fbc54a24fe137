"""Keyboard shortcuts of the workspace and its panes, declared once as described QActions.

A pane declares each of its keys with :func:`add_shortcut` (or :func:`describe` for an
action it already has, such as a toolbar button): a QAction carrying the keys, the
sentence the help overlay shows (in ``data()``), and a shortcut context that makes the
keys work while the pane (or the one widget it names) has the keyboard focus. The help
overlay lists exactly these actions (:func:`shortcut_rows`), grouped by pane, so the
list cannot drift from the keys that work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ui.qt import QAction, QKeySequence, QObject, Qt, QWidget

#: A key as QKeySequence accepts it: "Ctrl+F", a StandardKey, a QKeySequence.
Key = Any


def key_sequences(keys: Sequence[Key]) -> list[QKeySequence]:
    """The keys as sequences, without empties and duplicates (a standard key may equal an
    explicit one, and Qt calls a duplicate "ambiguous" and triggers neither)."""
    sequences: list[QKeySequence] = []
    for key in keys:
        sequence = key if isinstance(key, QKeySequence) else QKeySequence(key)
        if not sequence.isEmpty() and sequence not in sequences:
            sequences.append(sequence)
    return sequences


def describe(
    action: QAction,
    description: str,
    keys: Sequence[Key],
    on: QWidget,
    *,
    context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut,
) -> QAction:
    """Give ``action`` its keys and help text; the keys work while ``on`` (with its
    children, by default) has the focus."""
    action.setShortcuts(key_sequences(keys))
    action.setShortcutContext(context)
    action.setData(description)
    on.addAction(action)
    return action


def add_shortcut(
    owner: QWidget,
    description: str,
    keys: Sequence[Key],
    slot: Callable[[], object],
    *,
    on: QWidget | None = None,
    context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut,
) -> QAction:
    """A new action of ``owner`` running ``slot`` on ``keys`` (see :func:`describe`);
    the keys work while ``on`` (default: ``owner``) has the focus."""
    action = QAction(description, owner)
    action.triggered.connect(lambda _checked=False: slot())
    return describe(action, description, keys, on if on is not None else owner, context=context)


def keys_text(action: QAction) -> str:
    """The action's keys as the platform writes them ("Ctrl+F or F3")."""
    return " or ".join(
        s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()
    )


def shortcut_rows(owner: QObject) -> list[tuple[str, str]]:
    """(keys, description) of every action of ``owner`` and its children that has keys,
    in the order they were made."""
    rows = []
    for action in owner.findChildren(QAction):
        keys = keys_text(action)
        if not keys:
            continue
        data = action.data()
        text = data if isinstance(data, str) and data else action.text()
        rows.append((keys, text.replace("&", "").rstrip(".…")))
    return rows
