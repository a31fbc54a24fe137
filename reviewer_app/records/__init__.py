"""Records: a Case's PDF documents, opened from the vault in memory (no Qt here).

:class:`RecordDocument` gives page sizes, rendered pages as raw RGB bytes, search hits
and words; :mod:`~reviewer_app.records.geometry` maps them to the screen, and
:mod:`~reviewer_app.records.selection` turns a drag into selected text. The Records
pane (``ui/records``) runs all of it on worker threads.
"""

from reviewer_app.records.cache import ByteBudgetCache
from reviewer_app.records.document import (
    ENGINE_LOCK,
    PageImage,
    RecordDocument,
    SearchHit,
    Word,
    open_record,
)
from reviewer_app.records.geometry import PageSize, Rect

__all__ = [
    "ENGINE_LOCK",
    "ByteBudgetCache",
    "PageImage",
    "PageSize",
    "RecordDocument",
    "Rect",
    "SearchHit",
    "Word",
    "open_record",
]
