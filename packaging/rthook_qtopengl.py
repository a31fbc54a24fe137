"""PyInstaller runtime hook: a stand-in for PySide6.QtOpenGL, which the bundle leaves out.

PySide6.QtOpenGL is a 9 MB binding. Reviewer never uses it: pyqtgraph imports it at
module level (PlotCurveItem, PColorMeshItem, OpenGLHelpers, RawImageWidget) but only
touches it inside its OpenGL renderers, which run when pyqtgraph's ``useOpenGL`` or
``enableExperimental`` option is on; Reviewer leaves both off and draws its lab trends
with QPainter. The stand-in lets those imports succeed and names the cause if anything
ever reaches for an OpenGL class. (QtOpenGLWidgets stays: pyqtgraph subclasses its
QOpenGLWidget at import time; it does not need this module.) docs/packaging.md.
"""

import sys
import types


class _LeftOut(types.ModuleType):
    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"PySide6.QtOpenGL.{name}: Qt's OpenGL module is not in this build of Reviewer "
            "(pyqtgraph's OpenGL drawing must stay off; see docs/packaging.md)"
        )


sys.modules.setdefault("PySide6.QtOpenGL", _LeftOut("PySide6.QtOpenGL"))
