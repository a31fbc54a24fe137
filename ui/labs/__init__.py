"""The Labs pane: flowsheet and list of a Case's lab results, and an analyte's trend."""

# PySide6 is loaded before any module here imports pyqtgraph, so pyqtgraph binds to it
# (it takes an already-imported binding over any other one installed).
import ui.qt  # noqa: F401
