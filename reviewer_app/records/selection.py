"""Text selection on a page: from the word under the press to the word under the release.

Selection follows reading order (the order of the page's text layer), the way a PDF
reader selects: dragging from the middle of one line to the middle of the next selects
the end of the first and the start of the second, not a rectangle.
"""

from __future__ import annotations

from collections.abc import Sequence

from reviewer_app.records.document import Word


def nearest_word(words: Sequence[Word], x: float, y: float) -> int | None:
    """Index of the word at or closest to the point (page points); None without words."""
    best: int | None = None
    best_distance = float("inf")
    for index, word in enumerate(words):
        distance = word.rect.distance(x, y)
        if distance < best_distance:
            best, best_distance = index, distance
            if distance == 0:
                break
    return best


def select_between(
    words: Sequence[Word], start: tuple[float, float], end: tuple[float, float]
) -> list[Word]:
    """The words from the one nearest ``start`` to the one nearest ``end``, in reading
    order whichever way the drag went."""
    first = nearest_word(words, *start)
    last = nearest_word(words, *end)
    if first is None or last is None:
        return []
    if first > last:
        first, last = last, first
    return list(words[first : last + 1])


def selected_text(words: Sequence[Word]) -> str:
    """The words as text: spaces within a line, a line break between lines."""
    lines: list[list[str]] = []
    previous: tuple[int, int] | None = None
    for word in words:
        key = (word.block, word.line)
        if key != previous:
            lines.append([])
            previous = key
        lines[-1].append(word.text)
    return "\n".join(" ".join(line) for line in lines)
