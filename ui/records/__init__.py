"""The Records pane: a Case's PDF documents (list, thumbnails, pages, search, copy)."""
