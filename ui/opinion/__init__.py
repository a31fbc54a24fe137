"""The opinion: the editor in the workspace (sections, autosave, history, completeness,
citations); signing and export dialogs live beside it.

``OpinionEditor`` is imported on first use: the worklist imports this package's small
modules at start, and the editor is only needed when a case opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ui.opinion.editor import OpinionEditor

__all__ = ["OpinionEditor"]


def __getattr__(name: str) -> Any:
    if name == "OpinionEditor":
        from ui.opinion.editor import OpinionEditor

        return OpinionEditor
    raise AttributeError(name)
